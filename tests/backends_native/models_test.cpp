// The zoo's models on the native backend (every layer on it, no fallback) against the reference,
// at one and two threads; the whole-network relative L2 error bound is the CLI's, 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/native/conv_select.h"
#include "core/passes.h"
#include "gemm/native/sgemm_ukernels.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

#ifdef LIBSCOUT_EMULATED
constexpr int kResolution = 64;
#else
constexpr int kResolution = 128;
#endif

TEST(NativeBackend, ZooModelsValidate) {
  for (const std::string model :
       {"squeezenet1.1", "mobilenet_v1", "mobilenet_v2", "resnet18", "squeezenet1.0"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(model + " with " + std::to_string(threads) + " thread(s)");
      const Graph g = load_model(model, {.batch = threads, .resolution = kResolution});
      testing::expect_matches_reference(g, "native", threads);
    }
  }
}

TEST(NativeBackend, SettingsNameVersionThreadsAndAlgorithms) {
  const Graph g = load_model("resnet18", {.resolution = 64});
  auto backend = create_backend("native");
  Engine engine(g, *backend, nullptr, ExecOptions{2});
  const nlohmann::json s = backend->settings();
  EXPECT_EQ(s.at("library_version"), "libscout native 1");
  EXPECT_EQ(s.at("threads"), 2);
  EXPECT_EQ(s.at("pool_wait"), "spin");
  // "gemm 6, gemm_transposed 14": each algorithm chosen (timed in prepare, so which ones depends on
  // the CPU) with its count, one per convolution.
  int convs = 0, counted = 0;
  for (const Layer& l : g.layers) convs += l.op == OpKind::kConv2d ? 1 : 0;
  std::istringstream list(s.at("conv_algorithms").get<std::string>());
  for (std::string item; std::getline(list, item, ',');) {
    std::istringstream words(item);
    std::string name;
    int count = 0;
    ASSERT_TRUE(words >> name >> count) << item;
    EXPECT_TRUE(name == "gemm" || name == "gemm_transposed" || name == "winograd_f4x4" ||
                name == "direct3x3" || name == "depthwise3x3" || name == "depthwise3x3_blocked")
        << name;
    counted += count;
  }
  EXPECT_EQ(counted, convs);
}

const Layer& layer_named(const Graph& g, const std::string& name) {
  const auto it = std::find_if(g.layers.begin(), g.layers.end(),
                               [&](const Layer& l) { return l.name == name; });
  if (it == g.layers.end()) throw std::runtime_error("no layer " + name);
  return *it;
}

// Where GEMM, the transposed GEMM and Winograd all apply, each is a candidate (timed in prepare);
// the depthwise kernels compete with each other, the direct kernel with the GEMM.
TEST(NativeBackend, ConvolutionCandidates) {
  const Graph g = load_model("resnet18", {.resolution = 64});
  const native_nn::KernelEnv k{nullptr, native_nn::default_packed_gemm(),
                               &native_nn::best_simd_kernels(), nullptr};
  const Layer& conv3x3 = layer_named(g, "layer3.1.conv1");
  const auto all = native_nn::conv_candidates(g, conv3x3, k);
  EXPECT_EQ(all.size(), 3u);
  EXPECT_NE(std::find(all.begin(), all.end(), native_nn::ConvAlgorithm::kWinograd), all.end());
  const Graph m = load_model("mobilenet_v1", {.resolution = 64});
  const Layer& dw = layer_named(m, "block7.dw");  // 512 channels of 4x4
  EXPECT_EQ(native_nn::conv_candidates(m, dw, k),
            (std::vector<native_nn::ConvAlgorithm>{native_nn::ConvAlgorithm::kDepthwise,
                                                   native_nn::ConvAlgorithm::kDepthwiseBlocked}));
  const Layer& first = layer_named(m, "conv0");
  EXPECT_EQ(native_nn::conv_candidates(m, first, k),
            (std::vector<native_nn::ConvAlgorithm>{native_nn::ConvAlgorithm::kDirect,
                                                   native_nn::ConvAlgorithm::kGemm}));
}

}  // namespace
}  // namespace libscout
