// The thread pool of libscout's native SGEMM: a thin owner of a pthreadpool (the pool XNNPACK
// uses), with a typed parallel-for. Built without pthreadpool (a cross build lacking it), it runs
// every loop on the calling thread and reports one thread.
#pragma once

#include <cstddef>

namespace libscout::gemm::native {

class ThreadPool {
 public:
  // threads <= 0: one thread per online CPU. One thread means no pool: loops run on the caller.
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The number of threads that run parallel loops (the caller included).
  int threads() const { return threads_; }

  // Calls task(i) for every i in [0, range), spread over the threads; returns when all are done.
  // The workers then wait in the kernel, not spinning.
  template <typename Task>
  void parallel_for(std::size_t range, Task& task) {
    run_1d(range, [](void* ctx, std::size_t i) { (*static_cast<Task*>(ctx))(i); }, &task);
  }
  // Calls task(i, j) for every (i, j) in [0, range_i) x [0, range_j); on one thread the order is
  // i outer, j inner.
  template <typename Task>
  void parallel_for_2d(std::size_t range_i, std::size_t range_j, Task& task) {
    run_2d(range_i, range_j,
           [](void* ctx, std::size_t i, std::size_t j) { (*static_cast<Task*>(ctx))(i, j); },
           &task);
  }

 private:
  void run_1d(std::size_t range, void (*fn)(void*, std::size_t), void* ctx);
  void run_2d(std::size_t range_i, std::size_t range_j,
              void (*fn)(void*, std::size_t, std::size_t), void* ctx);

  void* pool_ = nullptr;  // pthreadpool_t when built with pthreadpool and threads > 1
  int threads_ = 1;
};

}  // namespace libscout::gemm::native
