// The ways of running each layer on the GPU, as Candidates for the Chooser (cudnn_choose.h).
// The first candidate of each list is the check the others are compared with.
#pragma once

#include <memory>
#include <vector>

#include "backends/cudnn/cudnn_choose.h"
#include "backends/cudnn/cudnn_plan.h"

namespace libscout::cudnn {

// What a layer's candidates may use: its input and output views, the library, the workspace, and
// a stream to run cuDNN's find call on. Candidates move their views to the micro-batch they run
// (at(view, exec)).
struct LayerContext {
  const PlannedLayer& layer;
  std::vector<DeviceView> inputs;  // views of one micro-batch (its first images)
  DeviceView output;
  Library& lib;
  Workspace& workspace;
  cudaStream_t stream;
  int images = 1;  // of the whole batch: buffers a layer keeps for itself are sized for them
};

// Convolution: cuDNN's algorithms as its find call ranks them (measured with the workspace limit),
// each with bias and activation fused by cudnnConvolutionBiasActivationForward or applied by a
// kernel after it; for 1x1 stride-1 convolutions also a cuBLAS GEMM per image.
std::vector<Candidate> conv_candidates(const LayerContext& ctx);
// Fully connected: one cuBLAS GEMM over the batch, then bias and activation.
std::vector<Candidate> fully_connected_candidates(const LayerContext& ctx);
// Pooling: Caffe's pooling as a kernel (the check) and cuDNN's where its output size is Caffe's.
std::vector<Candidate> pool_candidates(const LayerContext& ctx);
// The rest: one way each (cuDNN's softmax, batch norm and activation; the add kernel; concat
// copies for inputs that are not written in place).
std::vector<Candidate> other_candidates(const LayerContext& ctx);

// "IMPLICIT_PRECOMP_GEMM" for settings and reports.
const char* algo_name(cudnnConvolutionFwdAlgo_t algo);

}  // namespace libscout::cudnn
