// Every op on every available backend against the reference oracle, on seeded shapes that include
// the edges: 1x1 kernels, odd sizes, stride 2, asymmetric padding, dilation, groups, depthwise,
// batch > 1, fused activations. Plugin backends (oneDNN, XNNPACK, ...) are picked up here too.
#include <gtest/gtest.h>

#include <functional>

#include "core/passes.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"
#include "support/gpu_check.h"
#include "support/conv_params.h"

namespace libscout {
namespace {

using testing::expect_matches_reference;

struct OpCase {
  std::string name;
  std::function<Graph()> build;
};

using testing::square_conv;

// One convolution, optionally followed by an activation that the load passes fuse into it.
OpCase conv_case(std::string name, Shape in, Conv2dParams p, int activation = 0) {
  return {name, [=] {
            GraphBuilder b(name, in, 101);
            ValueId y = b.conv(b.input(), "conv", p);
            if (activation == 1) y = b.relu(y, "relu");
            if (activation == 6) y = b.relu6(y, "relu6");
            Graph g = b.finish({y});
            optimize_for_inference(g);
            return g;
          }};
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> cases = {
      conv_case("conv1x1", {1, 16, 7, 7}, square_conv(24, 1, 1, 0)),
      conv_case("conv1x1_single_pixel", {1, 8, 1, 1}, square_conv(5, 1, 1, 0)),
      conv_case("conv3x3_pad1_odd", {1, 3, 13, 11}, square_conv(8, 3, 1, 1), 1),
      conv_case("conv3x3_stride2_odd", {1, 5, 15, 17}, square_conv(7, 3, 2, 1), 6),
      conv_case("conv1x1_stride2", {1, 6, 9, 9}, square_conv(4, 1, 2, 0)),
      conv_case("conv5x5_pad2", {1, 4, 10, 10}, square_conv(6, 5, 1, 2)),
      conv_case("conv7x7_stride2_pad3", {1, 3, 23, 23}, square_conv(8, 7, 2, 3), 1),
      conv_case("conv3x3_dilation2", {1, 4, 12, 12}, square_conv(6, 3, 1, 2, 1, 2)),
      conv_case("conv3x3_groups2", {1, 8, 9, 9}, square_conv(12, 3, 1, 1, 2), 1),
      conv_case("depthwise3x3", {1, 16, 14, 14}, square_conv(16, 3, 1, 1, 16), 6),
      conv_case("depthwise3x3_stride2_odd", {1, 10, 15, 15}, square_conv(10, 3, 2, 1, 10), 6),
      conv_case("conv3x3_batch3", {3, 5, 8, 8}, square_conv(7, 3, 1, 1), 1),
      conv_case("depthwise_batch2", {2, 8, 7, 7}, square_conv(8, 3, 2, 1, 8), 6),
      conv_case("conv_no_padding_valid", {1, 3, 6, 6}, square_conv(2, 3, 1, 0)),
  };
  // Asymmetric padding (as ONNX and TensorFlow "SAME" produce).
  {
    Conv2dParams p = square_conv(6, 3, 2, 0);
    p.pad_top = 0, p.pad_left = 0, p.pad_bottom = 1, p.pad_right = 1;
    cases.push_back(conv_case("conv3x3_stride2_asymmetric_pad", {1, 4, 10, 10}, p, 1));
  }
  auto single = [](std::string name, Shape in, auto body) {
    return OpCase{name, [=] {
                    GraphBuilder b(name, in, 202);
                    Graph g = b.finish({body(b)});
                    optimize_for_inference(g);
                    return g;
                  }};
  };
  cases.push_back(single("maxpool3x3_stride2_ceil", {1, 6, 13, 13}, [](GraphBuilder& b) {
    return b.max_pool(b.input(), "pool", 3, 2);
  }));
  cases.push_back(single("maxpool3x3_stride2_ceil_even", {2, 4, 14, 14}, [](GraphBuilder& b) {
    return b.max_pool(b.input(), "pool", 3, 2);
  }));
  cases.push_back(single("maxpool2x2_floor_pad1", {1, 3, 9, 9}, [](GraphBuilder& b) {
    return b.max_pool(b.input(), "pool", 2, 2, 1, false);
  }));
  cases.push_back(single("avgpool3x3_pad1_include_pad", {1, 5, 8, 8}, [](GraphBuilder& b) {
    return b.avg_pool(b.input(), "pool", 3, 1, 1, true, true);
  }));
  cases.push_back(single("avgpool3x3_stride2_exclude_pad", {1, 5, 11, 11}, [](GraphBuilder& b) {
    return b.avg_pool(b.input(), "pool", 3, 2, 1, true, false);
  }));
  cases.push_back(single("global_avgpool", {2, 12, 7, 5}, [](GraphBuilder& b) {
    return b.global_avg_pool(b.input(), "gap");
  }));
  cases.push_back(single("relu_alone", {1, 4, 5, 5}, [](GraphBuilder& b) {
    return b.relu(b.max_pool(b.input(), "pool", 2, 1, 0, false), "relu");
  }));
  cases.push_back(single("relu6_alone", {1, 4, 5, 5}, [](GraphBuilder& b) {
    return b.relu6(b.max_pool(b.input(), "pool", 2, 1, 0, false), "relu6");
  }));
  cases.push_back(single("concat_three", {1, 4, 6, 6}, [](GraphBuilder& b) {
    ValueId a = b.conv(b.input(), "a", 3, 1, 1, 0);
    ValueId c = b.conv(b.input(), "c", 5, 3, 1, 1);
    ValueId d = b.conv(b.input(), "d", 2, 1, 1, 0);
    return b.concat({a, c, d}, "cat");
  }));
  cases.push_back(single("fully_connected", {1, 37, 1, 1}, [](GraphBuilder& b) {
    return b.fully_connected(b.input(), "fc", 19);
  }));
  cases.push_back(single("fully_connected_batch4_relu", {4, 6, 3, 3}, [](GraphBuilder& b) {
    return b.relu(b.fully_connected(b.flatten(b.input(), "flat"), "fc", 10), "relu");
  }));
  cases.push_back(single("flatten", {2, 3, 4, 5}, [](GraphBuilder& b) {
    return b.flatten(b.conv(b.input(), "conv", 2, 1, 1, 0), "flat");
  }));
  cases.push_back(single("softmax", {3, 10, 1, 1}, [](GraphBuilder& b) {
    return b.softmax(b.fully_connected(b.input(), "fc", 17), "prob");
  }));
  cases.push_back(single("add_relu", {2, 6, 5, 5}, [](GraphBuilder& b) {
    ValueId x = b.conv(b.input(), "x", 6, 3, 1, 1);
    return b.relu(b.add(x, b.input(), "add"), "relu");
  }));
  cases.push_back(single("batch_norm_folded", {1, 4, 6, 6}, [](GraphBuilder& b) {
    return b.relu(b.batch_norm(b.conv(b.input(), "conv", 8, 3, 2, 1, 1, false), "bn"), "relu");
  }));
  cases.push_back(single("batch_norm_alone", {2, 4, 3, 3}, [](GraphBuilder& b) {
    return b.batch_norm(b.max_pool(b.input(), "pool", 1, 1, 0, false), "bn");
  }));
  return cases;
}

using Param = std::tuple<std::string, int>;  // backend, op case index

class OpTest : public ::testing::TestWithParam<Param> {};

TEST_P(OpTest, MatchesReference) {
  const auto& [backend, index] = GetParam();
  const Graph g = op_cases().at(index).build();
  expect_matches_reference(g, backend);
}

TEST_P(OpTest, MatchesReferenceWithTwoThreads) {
  const auto& [backend, index] = GetParam();
  const Graph g = op_cases().at(index).build();
  expect_matches_reference(g, backend, 2);
}

std::vector<Param> all_params() {
  std::vector<Param> out;
  const int n = static_cast<int>(op_cases().size());
  for (const std::string& backend : testing::available_backends()) {
    // GPU backends have their own instantiation below, listed (and skipped) without a GPU too.
    if (backend_device(backend) == DeviceKind::kGpu) continue;
    for (int i = 0; i < n; ++i) out.emplace_back(backend, i);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, OpTest, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return testing::test_name(std::get<0>(info.param)) + "_" +
                                  op_cases().at(std::get<1>(info.param)).name;
                         });

// Every op on each GPU backend, with the CUDA graph captured and replayed, eagerly, and layer by
// layer under a profiler (each layer marked once, in order); skipped with the reason when the
// backend is not built or there is no GPU.
class GpuOpTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const std::string why = testing::skip_reason(std::get<0>(GetParam()));
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_P(GpuOpTest, MatchesReferenceWithCudaGraph) {
  const auto& [backend, index] = GetParam();
  const Graph g = op_cases().at(index).build();
  // Two replays: the second must not depend on what the first left in the device buffers.
  const auto run = testing::expect_gpu_matches_reference(g, backend, testing::gpu_options(true),
                                                         nullptr, testing::kFloatTolerance, 2);
  EXPECT_GT(run.device_ms, 0.0);
}

TEST_P(GpuOpTest, MatchesReferenceWithoutCudaGraph) {
  const auto& [backend, index] = GetParam();
  const Graph g = op_cases().at(index).build();
  testing::expect_gpu_matches_reference(g, backend, testing::gpu_options(false));
}

TEST_P(GpuOpTest, MatchesReferenceLayerByLayer) {
  const auto& [backend, index] = GetParam();
  const Graph g = op_cases().at(index).build();
  testing::MarkRecorder profiler;
  testing::expect_gpu_matches_reference(g, backend, testing::gpu_options(true), &profiler);
  std::vector<std::string> want;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    want.push_back("begin " + std::to_string(i));
    want.push_back("end " + std::to_string(i));
  }
  EXPECT_EQ(profiler.marks, want);
}

std::vector<Param> gpu_params() {
  std::vector<Param> out;
  const int n = static_cast<int>(op_cases().size());
  for (const std::string& backend : testing::gpu_backend_names()) {
    for (int i = 0; i < n; ++i) out.emplace_back(backend, i);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(GpuBackends, GpuOpTest, ::testing::ValuesIn(gpu_params()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return testing::test_name(std::get<0>(info.param)) + "_" +
                                  op_cases().at(std::get<1>(info.param)).name;
                         });

// The reference itself, on cases whose answer is known in closed form.
TEST(ReferenceOps, MaxPoolCeilModeOutputSize) {
  EXPECT_EQ(pooled_size(13, 3, 2, 0, true), 6);
  EXPECT_EQ(pooled_size(14, 3, 2, 0, true), 7);   // ceil: floor would give 6
  EXPECT_EQ(pooled_size(14, 3, 2, 0, false), 6);
  EXPECT_EQ(pooled_size(113, 3, 2, 0, true), 56);  // SqueezeNet v1.1's first pool
  EXPECT_EQ(pooled_size(5, 2, 2, 1, true), 3);     // last window must start inside the input
}

TEST(ReferenceOps, SoftmaxSumsToOne) {
  GraphBuilder b("softmax", {2, 50, 1, 1}, 3);
  Graph g = b.finish({b.softmax(b.input(), "prob")});
  Tensor in = make_input(g, 5);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] *= 30.0f;  // large logits: no overflow
  auto out = testing::run_graph(g, "reference", in);
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int c = 0; c < 50; ++c) sum += out[0][n * 50 + c];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(ReferenceOps, ConvolutionOfKnownValues) {
  // 1x1x3x3 input 1..9, one 3x3 kernel of ones with padding 1: each output is its neighbourhood sum.
  GraphBuilder b("known", {1, 1, 3, 3}, 1);
  Graph g = b.finish({b.conv(b.input(), "conv", 1, 3, 1, 1)});
  Layer& conv = g.layers[0];
  for (std::size_t i = 0; i < conv.weight.size(); ++i) conv.weight[i] = 1.0f;
  conv.bias[0] = 0.5f;
  Tensor in({1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) in[i] = float(i + 1);
  auto out = testing::run_graph(g, "reference", in);
  const float want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(out[0][i], want[i] + 0.5f) << "at " << i;
}

}  // namespace
}  // namespace libscout
