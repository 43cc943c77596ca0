#include "cuda/cuda_graph.h"

#include <exception>

namespace libscout::cuda {

ReplayableWork::ReplayableWork(Enqueue enqueue, bool use_graph) : enqueue_(std::move(enqueue)) {
  if (!use_graph) return;
  check(cudaStreamBeginCapture(stream_.get(), cudaStreamCaptureModeThreadLocal),
        "cudaStreamBeginCapture");
  try {
    enqueue_(stream_.get());
  } catch (...) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream_.get(), &partial);
    if (partial != nullptr) cudaGraphDestroy(partial);
    throw;
  }
  check(cudaStreamEndCapture(stream_.get(), &graph_), "CUDA graph capture");
  check(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
  check(cudaGraphUpload(exec_, stream_.get()), "cudaGraphUpload");
}

ReplayableWork::~ReplayableWork() {
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  if (graph_ != nullptr) cudaGraphDestroy(graph_);
}

double ReplayableWork::run_and_wait() {
  start_.record(stream_.get());
  if (exec_ != nullptr) {
    check(cudaGraphLaunch(exec_, stream_.get()), "cudaGraphLaunch");
  } else {
    enqueue_(stream_.get());
  }
  stop_.record(stream_.get());
  stream_.synchronize();
  return elapsed_ms(start_, stop_);
}

}  // namespace libscout::cuda
