// GPU backends (gemm:cublas, cudnn) against the reference, with the execution options that only
// they use (CUDA graph on or off, TF32) and, optionally, a per-layer profiler. A test skips with
// the reason when the backend is not built or cannot run here (no GPU, no driver).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "support/backend_check.h"

namespace libscout::testing {

inline const std::vector<std::string>& gpu_backend_names() {
  static const std::vector<std::string> names = {"gemm:cublas", "cudnn"};
  return names;
}

// Empty when `name` is built and available here; otherwise why the test skips.
inline std::string skip_reason(const std::string& name) {
  static const std::vector<BackendInfo> all = list_backends();
  for (const BackendInfo& b : all) {
    if (b.name != name) continue;
    if (b.available) return {};
    return name + " is unavailable here: " + b.reason;
  }
  return name + " is not built (no CUDA toolkit at build time, or its plugin is not written yet)";
}

// Records the begin/end marks a segment gives the profiler.
class MarkRecorder final : public LayerProfiler {
 public:
  void begin(LayerId l) override { marks.push_back("begin " + std::to_string(l)); }
  void end(LayerId l) override { marks.push_back("end " + std::to_string(l)); }
  std::vector<std::string> marks;
};

// The reference's outputs for (graph name, input shape), computed once per test binary: the model
// tests compare several backends and options with the same oracle.
inline const std::vector<Tensor>& cached_reference(const Graph& g, const Tensor& input) {
  static std::map<std::string, std::vector<Tensor>> cache;
  const std::string key = g.name + "/" + g.shape(g.input).str() + "/" +
                          std::to_string(g.layers.size());
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, run_graph(g, "reference", input)).first;
  return it->second;
}

struct GpuRun {
  std::vector<Tensor> outputs;
  double device_ms = -1.0;
  nlohmann::json settings;
};

// Runs `g` on `backend_name` with `opts` (`runs` times, the last one returned), no fallback.
inline GpuRun run_on_gpu(const Graph& g, const std::string& backend_name, const Tensor& input,
                         const ExecOptions& opts, LayerProfiler* profiler = nullptr,
                         int runs = 1) {
  auto backend = create_backend(backend_name);
  Engine engine(g, *backend, nullptr, opts);
  engine.set_input(input);
  for (int i = 0; i < runs; ++i) engine.run(profiler);
  GpuRun r;
  for (std::size_t i = 0; i < g.outputs.size(); ++i) r.outputs.push_back(engine.output_tensor(int(i)));
  r.device_ms = engine.last_device_ms();
  r.settings = backend->settings();
  return r;
}

// Expects every output of `g` on the GPU backend within `tolerance` of the reference.
inline GpuRun expect_gpu_matches_reference(const Graph& g, const std::string& backend_name,
                                           const ExecOptions& opts,
                                           LayerProfiler* profiler = nullptr,
                                           double tolerance = kFloatTolerance, int runs = 1) {
  const Tensor input = make_input(g, 11);
  const std::vector<Tensor>& want = cached_reference(g, input);
  GpuRun got = run_on_gpu(g, backend_name, input, opts, profiler, runs);
  EXPECT_EQ(got.outputs.size(), want.size());
  for (std::size_t i = 0; i < want.size() && i < got.outputs.size(); ++i) {
    EXPECT_EQ(got.outputs[i].shape(), want[i].shape());
    if (got.outputs[i].shape() != want[i].shape()) continue;
    const double err = relative_l2_error(got.outputs[i].span(), want[i].span());
    EXPECT_LE(err, tolerance) << g.name << " on " << backend_name << " (CUDA graph "
                              << (opts.cuda_graph ? "on" : "off") << "), output "
                              << g.values[g.outputs[i]].name << " of shape "
                              << want[i].shape().str() << ": relative L2 error " << err
                              << "; worst " << worst_element(got.outputs[i], want[i]);
  }
  return got;
}

inline ExecOptions gpu_options(bool cuda_graph) {
  ExecOptions o;
  o.cuda_graph = cuda_graph;
  return o;
}

}  // namespace libscout::testing
