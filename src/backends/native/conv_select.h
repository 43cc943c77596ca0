// Which algorithm runs each convolution of the native backend: where more than one applies (GEMM,
// the transposed GEMM, Winograd; the depthwise kernel per plane or across channels), each candidate
// is timed on this CPU in prepare with the layer's shapes and the fastest is kept. Fixed rules do
// not carry across cores: on an AMD Zen 3 (AVX2) Winograd F(4x4, 3x3) beat im2col + GEMM on
// ResNet-18's 3x3 layers; on a Zen 5 (AVX-512) the GEMM is 1.9-2.7x faster on the same layers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/native/conv_kernels.h"

namespace libscout::native_nn {

// Every algorithm that applies to this convolution with these kernels, the rule-based choice
// (choose_conv_algorithm) first. Depthwise layers have the two depthwise kernels as candidates,
// the direct kernel's layers the direct kernel and the GEMM.
std::vector<ConvAlgorithm> conv_candidates(const Graph& g, const Layer& l, const KernelEnv& env);

// The kernel of the fastest candidate (the minimum of up to kTuningRounds timed runs each, in
// rounds interleaved across the candidates after one warm-up round, fewer once the layer's
// timing has taken kTuningSeconds; on seeded data of the layer's shapes); `chosen` names it.
// A candidate replaces the rule's choice only when it is faster by more than kTuningMargin.
inline constexpr int kTuningRounds = 4;
inline constexpr double kTuningSeconds = 0.05;
inline constexpr double kTuningMargin = 0.03;
std::unique_ptr<LayerKernel> make_fastest_conv_kernel(const Graph& g, const Layer& l,
                                                      const KernelEnv& env, ConvAlgorithm& chosen);

// The choices already timed, by the convolution's shapes and parameters and the thread count: a
// layer prepared again (the planner prepares every layer alone as well as inside the network)
// gets the same algorithm without being timed again.
class ConvChoices {
 public:
  std::unique_ptr<LayerKernel> make(const Graph& g, const Layer& l, const KernelEnv& env,
                                    ConvAlgorithm& chosen);

 private:
  std::map<std::string, ConvAlgorithm> chosen_;
};

}  // namespace libscout::native_nn
