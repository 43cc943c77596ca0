// The thread pool of libscout's native SGEMM: a thin owner of a pthreadpool (the pool XNNPACK
// uses), with a typed parallel-for. Built without pthreadpool (a cross build lacking it), it runs
// every loop on the calling thread and reports one thread.
#pragma once

#include <cstddef>

namespace libscout::gemm::native {

class ThreadPool {
 public:
  // What the workers do between parallel loops: wait in the kernel at once (kSleep: a product
  // that runs alone, between which other work may need the cores), or spin for a while first
  // (kSpin, as XNNPACK's pool does: a network's layers follow each other within microseconds, and
  // waking a sleeping worker costs tens of them on a busy VM).
  enum class Wait { kSleep, kSpin };

  // threads <= 0: one thread per online CPU. One thread means no pool: loops run on the caller.
  explicit ThreadPool(int threads = 1, Wait wait = Wait::kSleep);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The number of threads that run parallel loops (the caller included).
  int threads() const { return threads_; }

  // Calls task(i) for every i in [0, range), spread over the threads; returns when all are done.
  template <typename Task>
  void parallel_for(std::size_t range, Task& task) {
    run_1d(range, [](void* ctx, std::size_t i) { (*static_cast<Task*>(ctx))(i); }, &task);
  }

 private:
  void run_1d(std::size_t range, void (*fn)(void*, std::size_t), void* ctx);

  void* pool_ = nullptr;  // pthreadpool_t when built with pthreadpool and threads > 1
  int threads_ = 1;
  Wait wait_ = Wait::kSleep;
};

}  // namespace libscout::gemm::native
