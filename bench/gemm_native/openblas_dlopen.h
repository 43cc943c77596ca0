// OpenBLAS for the native SGEMM benchmarks, opened with dlopen (RTLD_LOCAL) so that it cannot
// interpose on any BLAS the rest of the process uses and never becomes a link dependency. The
// path is the one CMake found at configure time (LIBSCOUT_BENCH_OPENBLAS_PATH, host builds only).
#pragma once

#include <dlfcn.h>
#include <stdlib.h>

namespace libscout::bench {

struct OpenBlas {
  static constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
  using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);
  using SetThreads = void (*)(int);
  Sgemm sgemm = nullptr;
  SetThreads set_threads = nullptr;

  // The library, or nullptr when this build did not find it or it does not load.
  static const OpenBlas* load() {
#if defined(LIBSCOUT_BENCH_OPENBLAS_PATH)
    static const OpenBlas* loaded = []() -> const OpenBlas* {
      // OpenBLAS's idle workers spin for 2^28 cycles after each call by default; interleaved
      // with the native SGEMM they took a core from its second thread (1024^3 at 2 threads on 2
      // cores: native 13.7 ms in some runs, 7.5 with this, OpenBLAS 11.7-12.6 either way). It
      // reads the variable when it loads; one set by the user is kept.
      setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
      void* handle = dlopen(LIBSCOUT_BENCH_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) return nullptr;
      auto* blas = new OpenBlas;
      blas->sgemm = reinterpret_cast<Sgemm>(dlsym(handle, "cblas_sgemm"));
      blas->set_threads = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
      if (blas->sgemm == nullptr || blas->set_threads == nullptr) return nullptr;
      return blas;
    }();
    return loaded;
#else
    return nullptr;
#endif
  }
};

}  // namespace libscout::bench
