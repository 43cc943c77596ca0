#include "backends/native/conv_select.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "backends/native/transposed_gemm.h"
#include "backends/native/winograd.h"
#include "core/tensor.h"

namespace libscout::native_nn {

std::vector<ConvAlgorithm> conv_candidates(const Graph& g, const Layer& l, const KernelEnv& env) {
  const ConvAlgorithm first = choose_conv_algorithm(g, l, *env.gemm.kernel);
  if (first == ConvAlgorithm::kDepthwise) {
    if (depthwise_blocked_applies(g, l, env.simd->lanes)) {
      return {first, ConvAlgorithm::kDepthwiseBlocked};
    }
    return {first};
  }
  if (first == ConvAlgorithm::kDirect) return {first};
  std::vector<ConvAlgorithm> all{first};
  auto add = [&](ConvAlgorithm a) {
    if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(a);
  };
  if (winograd_applies(g, l)) add(ConvAlgorithm::kWinograd);
  add(ConvAlgorithm::kGemm);
  const Conv2dParams& p = l.conv();
  if (g.input_shape(l).c / p.groups * p.kernel_h * p.kernel_w >= kTransposedMinDepth) {
    add(ConvAlgorithm::kGemmTransposed);
  }
  return all;
}

namespace {

// Seconds of the fastest of `runs` runs of kernel on ctx, after one untimed run.
double fastest_run(LayerKernel& kernel, const ExecContext& ctx, int runs) {
  kernel.run(ctx);
  double best = std::numeric_limits<double>::max();
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    kernel.run(ctx);
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

std::unique_ptr<LayerKernel> make_fastest_conv_kernel(const Graph& g, const Layer& l,
                                                      const KernelEnv& env, ConvAlgorithm& chosen) {
  const std::vector<ConvAlgorithm> candidates = conv_candidates(g, l, env);
  chosen = candidates.front();
  if (candidates.size() == 1) return make_conv_kernel(g, l, chosen, env);
  // The layer alone: its input (seeded values, so no denormals or zeros make one algorithm look
  // faster) and output; every other value of the graph is left unbound.
  Tensor in(g.input_shape(l)), out(g.output_shape(l));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 17) * 0.0625f - 0.5f;
  std::vector<float*> buffers(g.values.size(), nullptr);
  buffers[l.inputs[0]] = in.data();
  buffers[l.output] = out.data();
  std::unique_ptr<LayerKernel> best;
  double best_time = std::numeric_limits<double>::max();
  for (ConvAlgorithm a : candidates) {
    std::unique_ptr<LayerKernel> kernel = make_conv_kernel(g, l, a, env);
    auto workspace = allocate_floats(kernel->workspace_bytes() / sizeof(float) + 16);
    const double t = fastest_run(*kernel, {&g, buffers, workspace.get(), nullptr}, 3);
    if (best == nullptr || t < best_time) {
      best_time = t;
      best = std::move(kernel);
      chosen = a;
    }
  }
  return best;
}

}  // namespace libscout::native_nn
