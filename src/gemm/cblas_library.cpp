#include "gemm/cblas_library.h"

#include <dlfcn.h>

#include <cstdint>
#include <map>
#include <mutex>

#include "core/error.h"
#include "platform/packages.h"

namespace libscout::gemm {

namespace {

// The CBLAS enum values every implementation shares.
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                            int, float, float*, int);

// A loaded library stays loaded for the life of the process: BLAS libraries start worker threads
// and keep global state, which dlclose does not tear down safely.
struct DlHandle {
  void* handle = nullptr;
  std::string path;
};

std::shared_ptr<DlHandle> open_uncached(const CblasLibrarySpec& spec, std::string& errors) {
  for (const std::string& path : spec.candidates) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : path + ": cannot load");
      continue;
    }
    if (dlsym(h, "cblas_sgemm") == nullptr) {
      errors += (errors.empty() ? "" : "; ") + path + " has no cblas_sgemm";
      dlclose(h);
      continue;
    }
    auto out = std::make_shared<DlHandle>();
    out->handle = h;
    out->path = path;
    return out;
  }
  return nullptr;
}

// Opens the first candidate that loads and exports cblas_sgemm, once per process per spec name.
// `errors` collects why not.
std::shared_ptr<DlHandle> open_first(const CblasLibrarySpec& spec, std::string& errors) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::shared_ptr<DlHandle>, std::string>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const std::string key = spec.name + "\n" + (spec.candidates.empty() ? "" : spec.candidates[0]);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::string why;
    auto handle = open_uncached(spec, why);
    it = cache.emplace(key, std::make_pair(handle, why)).first;
  }
  errors = it->second.second;
  return it->second.first;
}

class CblasProvider final : public Provider {
 public:
  CblasProvider(const CblasLibrarySpec& spec, std::shared_ptr<DlHandle> lib)
      : spec_(spec), lib_(std::move(lib)) {
    sgemm_ = reinterpret_cast<CblasSgemm>(dlsym(lib_->handle, "cblas_sgemm"));
    if (!spec.set_threads_symbol.empty()) {
      set_threads_ = dlsym(lib_->handle, spec.set_threads_symbol.c_str());
    }
    if (!spec.get_threads_symbol.empty()) {
      get_threads_ = dlsym(lib_->handle, spec.get_threads_symbol.c_str());
    }
    if (!spec.version_symbol.empty()) {
      if (auto fn = reinterpret_cast<const char* (*)()>(
              dlsym(lib_->handle, spec.version_symbol.c_str()))) {
        version_ = fn();
      }
    }
    // ATLAS and netlib have no version call: name the library file and its package.
    if (version_.empty()) {
      version_ = platform::library_version_from_file(reinterpret_cast<void*>(sgemm_));
    }
  }

  std::string name() const override { return spec_.name; }
  std::string version() const override { return version_; }

  int set_threads(int threads) override {
    if (set_threads_ == nullptr) return 1;
    if (spec_.threads_arg_is_64bit) {
      reinterpret_cast<void (*)(std::int64_t)>(set_threads_)(threads);
    } else {
      reinterpret_cast<void (*)(int)>(set_threads_)(threads);
    }
    // The library's own answer where it gives one (OpenBLAS caps the count at its build limit).
    if (get_threads_ == nullptr) return threads;
    const std::int64_t used =
        spec_.threads_arg_is_64bit ? reinterpret_cast<std::int64_t (*)()>(get_threads_)()
                                   : reinterpret_cast<int (*)()>(get_threads_)();
    return used > 0 ? static_cast<int>(used) : threads;
  }

  void sgemm(const SgemmArgs& a) override {
    sgemm_(kCblasRowMajor, a.trans_a == Trans::kYes ? kCblasTrans : kCblasNoTrans,
           a.trans_b == Trans::kYes ? kCblasTrans : kCblasNoTrans, a.m, a.n, a.k, a.alpha, a.a,
           a.lda, a.b, a.ldb, a.beta, a.c, a.ldc);
  }

 private:
  CblasLibrarySpec spec_;
  std::shared_ptr<DlHandle> lib_;
  CblasSgemm sgemm_ = nullptr;
  void* set_threads_ = nullptr;
  void* get_threads_ = nullptr;
  std::string version_;
};

}  // namespace

std::vector<CblasLibrarySpec> debian_cblas_libraries() {
  const std::string lib = std::string("/usr/lib/") + LIBSCOUT_MULTIARCH + "/";
  return {
      {"openblas", "OpenBLAS (pthreads build), loaded with dlopen",
       {lib + "openblas-pthread/libopenblas.so.0", lib + "openblas-openmp/libopenblas.so.0",
        lib + "openblas-serial/libopenblas.so.0", "libopenblas.so.0"},
       "openblas_set_num_threads", false, "openblas_get_config", "openblas_get_num_threads"},
      {"blis", "BLIS (pthreads build), loaded with dlopen",
       {lib + "blis-pthread/libblis.so.4", lib + "blis-openmp/libblis.so.4",
        lib + "blis-serial/libblis.so.4", "libblis.so.4"},
       "bli_thread_set_num_threads", true, "bli_info_get_version_str",
       "bli_thread_get_num_threads"},
      {"atlas", "ATLAS (Debian's generic build, single-threaded), loaded with dlopen",
       {lib + "atlas/libblas.so.3"}, "", false, "", ""},
      {"netlib", "netlib reference BLAS/CBLAS (single-threaded), loaded with dlopen",
       {lib + "blas/libblas.so.3"}, "", false, "", ""},
  };
}

std::unique_ptr<Provider> open_cblas_library(const CblasLibrarySpec& spec) {
  std::string errors;
  auto lib = open_first(spec, errors);
  if (!lib) throw Unavailable(spec.name + " is not loadable: " + errors);
  return std::make_unique<CblasProvider>(spec, std::move(lib));
}

std::string probe_cblas_library(const CblasLibrarySpec& spec) {
  std::string errors;
  return open_first(spec, errors) ? std::string() : errors;
}

}  // namespace libscout::gemm
