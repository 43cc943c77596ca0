// The native backend's kernels on the layer shapes of the zoo (MobileNet v1's first, depthwise and
// pointwise layers, ResNet-18's 3x3 layers), each vector build this CPU runs for the depthwise and
// direct kernels, and Winograd or direct next to the GEMM (both ways round) on the same layer, at
// 1 and 2 threads (the name's threads:<t>). Method: Google Benchmark's own (warm-up by its
// iteration estimate, wall clock, the statistic its --benchmark_repetitions reports); run side by
// side with `libscout run --per-layer` figures.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "backends/native/conv_kernels.h"
#include "models/graph_builder.h"
#include "models/zoo.h"

namespace libscout::native_nn {
namespace {

struct ConvCase {
  const char* name;
  Shape in;
  int cout, kernel, stride, pad, groups;
};

const ConvCase kCases[] = {
    {"mobilenet_v1/conv0", {1, 3, 224, 224}, 32, 3, 2, 1, 1},
    {"mobilenet_v1/block2.dw", {1, 64, 112, 112}, 64, 3, 2, 1, 64},
    {"mobilenet_v1/block3.dw", {1, 128, 56, 56}, 128, 3, 1, 1, 128},
    {"mobilenet_v1/block7.dw", {1, 512, 14, 14}, 512, 3, 1, 1, 512},
    {"mobilenet_v1/block12.dw", {1, 512, 14, 14}, 512, 3, 2, 1, 512},
    {"mobilenet_v1/block13.dw", {1, 1024, 7, 7}, 1024, 3, 1, 1, 1024},
    {"mobilenet_v1/block1.pw", {1, 32, 112, 112}, 64, 1, 1, 0, 1},
    {"mobilenet_v1/block3.pw", {1, 128, 56, 56}, 128, 1, 1, 0, 1},
    {"mobilenet_v1/block7.pw", {1, 512, 14, 14}, 512, 1, 1, 0, 1},
    {"mobilenet_v1/block13.pw", {1, 1024, 7, 7}, 1024, 1, 1, 0, 1},
    {"squeezenet1.1/conv1", {1, 3, 224, 224}, 64, 3, 2, 0, 1},
    {"squeezenet1.1/fire2.squeeze", {1, 64, 55, 55}, 16, 1, 1, 0, 1},
    {"squeezenet1.1/fire2.expand1x1", {1, 16, 55, 55}, 64, 1, 1, 0, 1},
    {"squeezenet1.1/fire2.expand3x3", {1, 16, 55, 55}, 64, 3, 1, 1, 1},
    {"squeezenet1.1/fire9.expand3x3", {1, 64, 13, 13}, 256, 3, 1, 1, 1},
    {"squeezenet1.1/conv10", {1, 512, 13, 13}, 1000, 1, 1, 0, 1},
    {"resnet18/conv1", {1, 3, 224, 224}, 64, 7, 2, 3, 1},
    {"resnet18/layer1.conv", {1, 64, 56, 56}, 64, 3, 1, 1, 1},
    {"resnet18/layer2.0.conv1", {1, 64, 56, 56}, 128, 3, 2, 1, 1},
    {"resnet18/layer3.conv", {1, 256, 14, 14}, 256, 3, 1, 1, 1},
    {"resnet18/layer4.conv", {1, 512, 7, 7}, 512, 3, 1, 1, 1},
};

Graph conv_graph(const ConvCase& c) {
  Conv2dParams p;
  p.out_channels = c.cout;
  p.kernel_h = p.kernel_w = c.kernel;
  p.stride_h = p.stride_w = c.stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = c.pad;
  p.groups = c.groups;
  p.activation = Activation::kRelu;
  GraphBuilder b(c.name, c.in, 1);
  const ValueId y = b.conv(b.input(), "conv", p);
  return b.finish({y});
}

void run_conv(benchmark::State& state, const ConvCase& c, ConvAlgorithm a,
              const SimdKernels* simd) {
  const Graph g = conv_graph(c);
  using Pool = gemm::native::ThreadPool;
  Pool pool(static_cast<int>(state.range(0)), Pool::Wait::kSpin);  // as the backend's
  GemmScratch scratch;
  const KernelEnv env{&pool, default_packed_gemm(), simd, &scratch};
  auto kernel = make_conv_kernel(g, g.layers[0], a, env);
  std::vector<Tensor> values;
  for (const Value& v : g.values) values.emplace_back(v.shape);
  const Tensor x = make_input(g, 3);
  std::copy_n(x.data(), x.size(), values[g.input].data());
  std::vector<float*> buffers;
  for (Tensor& t : values) buffers.push_back(t.data());
  auto workspace = allocate_floats(kernel->workspace_bytes() / sizeof(float) + 1);
  const ExecContext ctx{&g, buffers, workspace.get(), nullptr};
  for (auto _ : state) {
    kernel->run(ctx);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * count_layer_macs(g, g.layers[0]);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// One entry per (layer, algorithm that applies, vector build) on this CPU.
int register_all() {
  const SimdKernels* builds[8];
  const int n = supported_simd_kernels(builds, 8);
  for (const ConvCase& c : kCases) {
    const Graph g = conv_graph(c);
    std::vector<std::pair<ConvAlgorithm, const SimdKernels*>> runs;
    if (depthwise_applies(g, g.layers[0])) {
      for (int i = 0; i < n; ++i) runs.push_back({ConvAlgorithm::kDepthwise, builds[i]});
      for (int i = 0; i < n; ++i) {
        if (depthwise_blocked_applies(g, g.layers[0], builds[i]->lanes)) {
          runs.push_back({ConvAlgorithm::kDepthwiseBlocked, builds[i]});
        }
      }
    } else {
      if (winograd_applies(g, g.layers[0])) runs.push_back({ConvAlgorithm::kWinograd, builds[0]});
      if (direct_applies(g, g.layers[0])) {
        for (int i = 0; i < n; ++i) runs.push_back({ConvAlgorithm::kDirect, builds[i]});
      }
      runs.push_back({ConvAlgorithm::kGemm, builds[0]});
      runs.push_back({ConvAlgorithm::kGemmTransposed, builds[0]});
    }
    for (const auto& [a, simd] : runs) {
      const std::string name = std::string("native/") + c.name + "/" + conv_algorithm_name(a) +
                               "/" + simd->name;
      benchmark::RegisterBenchmark(
          name.c_str(), [&c, a = a, simd = simd](benchmark::State& s) { run_conv(s, c, a, simd); })
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace libscout::native_nn

BENCHMARK_MAIN();
