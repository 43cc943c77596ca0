// The Caffe-style baseline's work outside SGEMM, layer by layer, on SqueezeNet v1.1's shapes:
// max pooling (3x3, stride 2, ceil mode) and im2col. CPU time is the figure to compare.
#include <benchmark/benchmark.h>

#include "backends/gemm/gemm_backend.h"
#include "backends/reference/reference_ops.h"
#include "models/graph_builder.h"

namespace {

using namespace libscout;

void BM_MaxPool3x3s2(benchmark::State& state) {
  const int c = static_cast<int>(state.range(0)), hw = static_cast<int>(state.range(1));
  GraphBuilder b("pool", {1, c, hw, hw}, 1);
  const Graph g = b.finish({b.max_pool(b.input(), "pool", 3, 2)});
  Tensor x(g.shape(g.input)), y(g.shape(g.outputs[0]));
  fill_uniform(x, 1, "x", -1, 1);
  const float* in[] = {x.data()};
  for (auto _ : state) {
    reference::forward<float>(g, g.layers[0], in, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * (x.size() + y.size()) * sizeof(float));
}
BENCHMARK(BM_MaxPool3x3s2)->Args({64, 111})->Args({128, 55})->Args({256, 27});

void BM_Im2col3x3(benchmark::State& state) {
  const int c = static_cast<int>(state.range(0)), hw = static_cast<int>(state.range(1));
  Conv2dParams p;
  p.kernel_h = p.kernel_w = 3;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  Tensor x({1, c, hw, hw}), col({1, c * 9, hw, hw});
  fill_uniform(x, 1, "x", -1, 1);
  for (auto _ : state) {
    im2col(x.data(), c, hw, hw, p, hw, hw, col.data());
    benchmark::DoNotOptimize(col.data());
  }
  state.SetBytesProcessed(state.iterations() * col.size() * sizeof(float));
}
BENCHMARK(BM_Im2col3x3)->Args({16, 55})->Args({32, 27})->Args({64, 13});

}  // namespace

BENCHMARK_MAIN();
