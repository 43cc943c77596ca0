#include "backends/registry.h"

#include "backends/gemm/gemm_backend.h"
#include "backends/reference/reference_backend.h"
#include "core/error.h"
#include "core/plugins.h"
#include "gemm/gemm_provider.h"

namespace libscout {

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  out.push_back({"reference", "plain loops accumulating in double: the oracle", true, {}});
  for (const gemm::ProviderInfo& p : gemm::list_providers()) {
    out.push_back({"gemm:" + p.name, "im2col + SGEMM (Caffe-style) on " + p.description,
                   p.available, p.reason});
  }
  for (const BackendFactory& f : plugins().registry.backends) {
    std::string why = f.unavailable_reason ? f.unavailable_reason() : std::string();
    out.push_back({f.name, f.description, why.empty(), why});
  }
  for (const PluginLoadFailure& f : plugins().failed) {
    out.push_back({f.plugin, "plugin " + f.plugin + ".so", false, f.reason});
  }
  return out;
}

std::unique_ptr<Backend> create_backend(const std::string& name) {
  if (name == "reference") return make_reference_backend();
  if (name.rfind("gemm:", 0) == 0) {
    return make_gemm_backend(gemm::create_provider(name.substr(5)));
  }
  for (const BackendFactory& f : plugins().registry.backends) {
    if (f.name != name) continue;
    if (f.unavailable_reason) {
      std::string why = f.unavailable_reason();
      if (!why.empty()) throw Unavailable("backend '" + name + "' is unavailable: " + why);
    }
    return f.create();
  }
  for (const PluginLoadFailure& f : plugins().failed) {
    if (f.plugin == name) throw Unavailable("backend '" + name + "' is unavailable: " + f.reason);
  }
  std::string known;
  for (const BackendInfo& b : list_backends()) known += (known.empty() ? "" : ", ") + b.name;
  throw Error("unknown backend '" + name + "' (known: " + known + ")");
}

std::unique_ptr<Backend> create_fallback_backend() {
  try {
    return make_gemm_backend(gemm::create_provider("openblas"));
  } catch (const Unavailable&) {
    return make_gemm_backend(gemm::create_provider("eigen"));
  }
}

}  // namespace libscout
