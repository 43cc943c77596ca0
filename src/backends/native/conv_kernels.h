// The native backend's convolution kernels, each a LayerKernel on the engine's NCHW buffers with
// its weights prepared once in the constructor:
//   GemmConv       1x1 stride-1 convolutions as a GEMM straight on the activations, others through
//                  im2col; weights packed once into the micro-kernel's panels (packed_gemm.h), or
//                  the same product transposed (transposed_gemm.h);
//   DepthwiseConv  3x3 depthwise (stride 1 or 2, any padding), a direct vector kernel per channel
//                  on a packed copy of the plane, or straight from the input with padding 1 (stride
//                  1, or stride 2 on even planes; rows narrower than a vector one vector per row);
//                  on small planes vectorized across blocks of channels;
//   DirectConv     dense 3x3 (stride 1 or 2) with at most kDirectMaxInputChannels input channels,
//                  every output channel straight from the packed input planes;
//   WinogradConv   3x3 stride-1 convolutions with Winograd F(4x4, 3x3) (winograd.h).
// Bias and activation are applied inside each kernel as its output tiles are produced.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "backends/common/layer_segment.h"
#include "backends/native/packed_gemm.h"
#include "backends/native/simd_kernels.h"

namespace libscout::native_nn {

// What every kernel of one backend shares: the thread pool, the GEMM and vector kernels chosen
// for this CPU, and the GEMM's packing buffers. Segments run one at a time, so sharing is safe.
struct KernelEnv {
  gemm::native::ThreadPool* pool = nullptr;
  PackedGemm gemm;
  const SimdKernels* simd = nullptr;
  GemmScratch* scratch = nullptr;
};

enum class ConvAlgorithm {
  kGemm,
  kGemmTransposed,
  kDepthwise,
  kDepthwiseBlocked,
  kWinograd,
  kDirect
};
const char* conv_algorithm_name(ConvAlgorithm a);

// The algorithm run() uses for this convolution on this micro-kernel (Winograd where it applies
// and pays off, the transposed GEMM where its tiles fit the product better).
ConvAlgorithm choose_conv_algorithm(const Graph& g, const Layer& l,
                                    const gemm::native::SgemmUkernel& kernel);
bool depthwise_applies(const Graph& g, const Layer& l);
// The channel-vectorized depthwise kernel: channels a multiple of the vector width, planes at most
// this wide (its padded buffer of a block stays in L1/L2).
inline constexpr int kDepthwiseBlockedMaxWidth = 32;
bool depthwise_blocked_applies(const Graph& g, const Layer& l, int lanes);
inline constexpr int kDirectMaxInputChannels = 4;
bool direct_applies(const Graph& g, const Layer& l);
bool winograd_applies(const Graph& g, const Layer& l);

std::unique_ptr<LayerKernel> make_conv_kernel(const Graph& g, const Layer& l, ConvAlgorithm a,
                                              const KernelEnv& env);

// floats rounded up to whole 64-byte cache lines (16 floats): where the kernels cut a workspace
// into per-task or per-array parts, each part starts on its own line.
inline std::size_t whole_lines(std::size_t floats) { return (floats + 15) / 16 * 16; }

// Calls fn(task, begin, end) for at most pool.threads() contiguous chunks of [0, count).
template <typename Fn>
void parallel_chunks(gemm::native::ThreadPool& pool, int count, Fn&& fn) {
  const int tasks = std::max(1, std::min(pool.threads(), count));
  auto body = [&](std::size_t t) {
    fn(static_cast<int>(t), static_cast<int>(t * count / tasks),
       static_cast<int>((t + 1) * count / tasks));
  };
  pool.parallel_for(static_cast<std::size_t>(tasks), body);
}

}  // namespace libscout::native_nn
