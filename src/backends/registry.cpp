#include "backends/registry.h"

#include <algorithm>

#include "backends/gemm/gemm_backend.h"
#include "backends/reference/reference_backend.h"
#include "core/error.h"
#include "core/plugins.h"
#include "gemm/gemm_provider.h"

namespace libscout {

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  out.push_back({"reference", "plain loops accumulating in double: the oracle", true, {}});
  auto plugin_backend = [](const std::string& name) {
    for (const BackendFactory& f : plugins().registry.backends) {
      if (f.name == name) return true;
    }
    return false;
  };
  for (const gemm::ProviderInfo& p : gemm::list_providers()) {
    // A plugin may implement gemm:<provider> itself (gemm:cublas keeps every operand on the GPU).
    if (plugin_backend("gemm:" + p.name)) continue;
    out.push_back({"gemm:" + p.name, "im2col + SGEMM (Caffe-style) on " + p.description,
                   p.available, p.reason});
  }
  for (const BackendFactory& f : plugins().registry.backends) {
    std::string why = f.unavailable_reason ? f.unavailable_reason() : std::string();
    out.push_back({f.name, f.description, why.empty(), why, f.device});
  }
  // A plugin that did not load: the backends it declares (its GEMM providers are listed with
  // the providers, and as gemm:<provider> above); one that declares nothing under its file name.
  for (const PluginLoadFailure& f : plugins().failed) {
    bool declared = false;
    for (const std::string& what : f.provides) {
      if (what.rfind("provider:", 0) == 0) declared = true;
      if (what.rfind("backend:", 0) != 0) continue;
      declared = true;
      out.push_back({what.substr(8), "plugin " + f.plugin + ".so", false,
                     "plugin " + f.plugin + ".so does not load: " + f.reason});
    }
    if (!declared) {
      out.push_back({f.plugin, "plugin " + f.plugin + ".so", false,
                     "plugin " + f.plugin + ".so does not load: " + f.reason});
    }
  }
  return out;
}

std::unique_ptr<Backend> create_backend(const std::string& name) {
  if (name == "reference") return make_reference_backend();
  const bool plugin_gemm = std::any_of(
      plugins().registry.backends.begin(), plugins().registry.backends.end(),
      [&](const BackendFactory& f) { return f.name == name; });
  if (name.rfind("gemm:", 0) == 0 && !plugin_gemm) {
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
  for (const BackendInfo& b : list_backends()) {
    if (b.name == name && !b.available) {
      throw Unavailable("backend '" + name + "' is unavailable: " + b.reason);
    }
  }
  std::string known;
  for (const BackendInfo& b : list_backends()) known += (known.empty() ? "" : ", ") + b.name;
  throw Error("unknown backend '" + name + "' (known: " + known + ")");
}

DeviceKind backend_device(const std::string& name) {
  for (const BackendFactory& f : plugins().registry.backends) {
    if (f.name == name) return f.device;
  }
  return DeviceKind::kCpu;
}

std::unique_ptr<Backend> create_fallback_backend() {
  try {
    return make_gemm_backend(gemm::create_provider("openblas"));
  } catch (const Unavailable&) {
    return make_gemm_backend(gemm::create_provider("eigen"));
  }
}

}  // namespace libscout
