// ThreadPool over pthreadpool, or serial where the build has no pthreadpool
// (LIBSCOUT_NATIVE_HAVE_PTHREADPOOL is set by this folder's CMakeLists.txt).
#include "gemm/native/thread_pool.h"

#include <algorithm>
#include <cstdint>
#include <thread>

#if defined(LIBSCOUT_NATIVE_HAVE_PTHREADPOOL)
#include <pthreadpool.h>
#endif

namespace libscout::gemm::native {

ThreadPool::ThreadPool(int threads, Wait wait) : wait_(wait) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#if defined(LIBSCOUT_NATIVE_HAVE_PTHREADPOOL)
  if (threads > 1) {
    pthreadpool_t pool = pthreadpool_create(static_cast<std::size_t>(threads));
    if (pool != nullptr) {
      pool_ = pool;
      threads_ = static_cast<int>(pthreadpool_get_threads_count(pool));
      return;
    }
  }
#endif
  threads_ = 1;
}

ThreadPool::~ThreadPool() {
#if defined(LIBSCOUT_NATIVE_HAVE_PTHREADPOOL)
  if (pool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
#endif
}

void ThreadPool::run_1d(std::size_t range, void (*fn)(void*, std::size_t), void* ctx) {
#if defined(LIBSCOUT_NATIVE_HAVE_PTHREADPOOL)
  if (pool_ != nullptr) {
    const uint32_t flags = wait_ == Wait::kSleep ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0;
    pthreadpool_parallelize_1d(static_cast<pthreadpool_t>(pool_), fn, ctx, range, flags);
    return;
  }
#endif
  for (std::size_t i = 0; i < range; ++i) fn(ctx, i);
}

}  // namespace libscout::gemm::native
