// One inference's device work, recorded once and replayed: with graphs on, the work that
// `enqueue` puts on the stream is captured into a CUDA graph in prepare() and each run launches
// the graph (one launch instead of one per kernel); with graphs off, each run calls `enqueue`
// again. Either way the run is bracketed by CUDA events, so device time is known.
#pragma once

#include <functional>

#include "cuda/cuda_runtime_util.h"

namespace libscout::cuda {

class ReplayableWork {
 public:
  using Enqueue = std::function<void(cudaStream_t)>;
  // Captures `enqueue` at once when `use_graph` (a capture failure is an Error naming the cause).
  ReplayableWork(Enqueue enqueue, bool use_graph);
  ~ReplayableWork();
  ReplayableWork(const ReplayableWork&) = delete;
  ReplayableWork& operator=(const ReplayableWork&) = delete;

  // Runs the work once on the stream and waits for it; returns the device time in milliseconds.
  double run_and_wait();
  cudaStream_t stream() const { return stream_.get(); }
  bool uses_graph() const { return exec_ != nullptr; }

 private:
  Enqueue enqueue_;
  Stream stream_;
  Event start_, stop_;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace libscout::cuda
