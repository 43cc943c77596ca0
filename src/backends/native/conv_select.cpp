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
  // The banded im2col + GEMM is a contender for the direct kernel's layers too (MobileNet v1's
  // conv0, bench_native_kernels: Zen 5 170 us against 179, the H200 machine's Xeon 336 against
  // 485).
  if (first == ConvAlgorithm::kDirect) return {first, ConvAlgorithm::kGemm};
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

// Seconds of one run of kernel on ctx.
double run_seconds(LayerKernel& kernel, const ExecContext& ctx) {
  const auto start = std::chrono::steady_clock::now();
  kernel.run(ctx);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  struct Candidate {
    ConvAlgorithm algorithm;
    std::unique_ptr<LayerKernel> kernel;
    std::unique_ptr<float[], AlignedFree> workspace;
    double best = std::numeric_limits<double>::max();
  };
  std::vector<Candidate> all;
  for (ConvAlgorithm a : candidates) {
    auto kernel = make_conv_kernel(g, l, a, env);
    auto workspace = allocate_floats(kernel->workspace_bytes() / sizeof(float) + 16);
    all.push_back({a, std::move(kernel), std::move(workspace)});
  }
  // Rounds interleaved across the candidates (a shared machine's speed drifts between them), the
  // fastest run of each; the first round warms caches and is not counted, and rounds stop early
  // once they have taken kTuningSeconds (a slow layer, or an emulated CPU).
  double spent = 0.0;
  for (int round = 0; round <= kTuningRounds && (round < 2 || spent < kTuningSeconds); ++round) {
    for (Candidate& c : all) {
      const double t = run_seconds(*c.kernel, {&g, buffers, c.workspace.get(), nullptr});
      spent += t;
      if (round > 0) c.best = std::min(c.best, t);
    }
  }
  // The rule's choice (the first) stays unless another is clearly faster, so that near-ties do
  // not flip between processes.
  Candidate* fastest = &all.front();
  for (Candidate& c : all) {
    if (c.best * (1.0 + kTuningMargin) < fastest->best) fastest = &c;
  }
  chosen = fastest->algorithm;
  return std::move(fastest->kernel);
}

std::unique_ptr<LayerKernel> ConvChoices::make(const Graph& g, const Layer& l,
                                              const KernelEnv& env, ConvAlgorithm& chosen) {
  const Conv2dParams& p = l.conv();
  const std::string key =
      g.input_shape(l).str() + " " + g.output_shape(l).str() + " " +
      std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
      std::to_string(p.stride_h) + "," + std::to_string(p.stride_w) + " p" +
      std::to_string(p.pad_top) + "," + std::to_string(p.pad_left) + "," +
      std::to_string(p.pad_bottom) + "," + std::to_string(p.pad_right) + " d" +
      std::to_string(p.dilation_h) + "," + std::to_string(p.dilation_w) + " g" +
      std::to_string(p.groups) + " t" + std::to_string(env.pool->threads());
  if (const auto it = chosen_.find(key); it != chosen_.end()) {
    chosen = it->second;
    return make_conv_kernel(g, l, chosen, env);
  }
  auto kernel = make_fastest_conv_kernel(g, l, env, chosen);
  chosen_.emplace(key, chosen);
  return kernel;
}

}  // namespace libscout::native_nn
