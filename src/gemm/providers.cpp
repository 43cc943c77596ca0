// The provider registry: built-in providers, Debian's CBLAS libraries, providers registered by
// plugins, and CBLAS libraries named by path on the command line, in that order.
#include <mutex>

#include "core/error.h"
#include "core/plugins.h"
#include "gemm/builtin_providers.h"
#include "gemm/cblas_library.h"
#if defined(LIBSCOUT_HAVE_NATIVE_GEMM)
#include "gemm/native/native_provider.h"
#endif

namespace libscout::gemm {

namespace {

std::vector<ProviderFactory> builtin_factories() {
  std::vector<ProviderFactory> out;
  out.push_back({"naive", "textbook triple loop, single-threaded", nullptr, make_naive_provider});
  out.push_back({"eigen", "Eigen 3 matrix product (compiled in, OpenMP threads)", nullptr,
                 make_eigen_provider});
#if defined(LIBSCOUT_HAVE_NATIVE_GEMM)  // src/gemm/native/ is part of this build
  out.push_back({"native", "libscout's own SGEMM: packed panels, cache blocking, SIMD micro-kernel "
                           "chosen by CPU features, pthreadpool threads",
                 nullptr, make_native_provider});
#endif
  return out;
}

std::mutex& user_libraries_mutex() {
  static std::mutex m;
  return m;
}
std::vector<CblasLibrarySpec>& user_libraries() {
  static std::vector<CblasLibrarySpec> libs;
  return libs;
}

std::vector<ProviderFactory> all_factories() {
  std::vector<ProviderFactory> out = builtin_factories();
  std::vector<CblasLibrarySpec> cblas = debian_cblas_libraries();
  {
    std::lock_guard<std::mutex> lock(user_libraries_mutex());
    cblas.insert(cblas.end(), user_libraries().begin(), user_libraries().end());
  }
  for (const CblasLibrarySpec& spec : cblas) {
    out.push_back({spec.name, spec.description, [spec] { return probe_cblas_library(spec); },
                   [spec] { return open_cblas_library(spec); }});
  }
  for (const ProviderFactory& f : plugins().registry.providers) out.push_back(f);
  // Providers of plugins that did not load (their library is missing): listed, never created.
  for (const PluginLoadFailure& failure : plugins().failed) {
    for (const std::string& what : failure.provides) {
      if (what.rfind("provider:", 0) != 0) continue;
      const std::string why = "plugin " + failure.plugin + ".so does not load: " + failure.reason;
      out.push_back({what.substr(9), "plugin " + failure.plugin + ".so",
                     [why] { return why; }, nullptr});
    }
  }
  return out;
}

}  // namespace

std::vector<ProviderInfo> list_providers() {
  std::vector<ProviderInfo> out;
  for (const ProviderFactory& f : all_factories()) {
    std::string why = f.unavailable_reason ? f.unavailable_reason() : std::string();
    out.push_back({f.name, f.description, why.empty(), why});
  }
  return out;
}

std::unique_ptr<Provider> create_provider(const std::string& name) {
  for (const ProviderFactory& f : all_factories()) {
    if (f.name != name) continue;
    if (f.unavailable_reason) {
      std::string why = f.unavailable_reason();
      if (!why.empty()) throw Unavailable("GEMM provider '" + name + "' is unavailable: " + why);
    }
    return f.create();
  }
  std::string known;
  for (const ProviderFactory& f : all_factories()) known += (known.empty() ? "" : ", ") + f.name;
  throw Error("unknown GEMM provider '" + name + "' (known: " + known + ")");
}

void register_blas_library(const std::string& path) {
  CblasLibrarySpec spec;
  spec.name = "path:" + path;
  spec.description = "CBLAS library named on the command line";
  spec.candidates = {path};
  // Thread controls of the common libraries, looked up if the library has them.
  spec.set_threads_symbol = "openblas_set_num_threads";
  spec.get_threads_symbol = "openblas_get_num_threads";
  std::lock_guard<std::mutex> lock(user_libraries_mutex());
  for (const CblasLibrarySpec& s : user_libraries()) {
    if (s.name == spec.name) return;
  }
  user_libraries().push_back(spec);
}

}  // namespace libscout::gemm
