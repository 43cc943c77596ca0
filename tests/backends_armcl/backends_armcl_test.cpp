// The Arm Compute Library backends (armcl-neon, armcl-cl) beyond the generic op and model suites
// of tests/engine: every layer of the paper's models placed on the library, validation at one and
// two threads, depthwise and pointwise edge shapes, Caffe's ceil-mode pooling (including the case
// ACL cannot give, which falls back with ACL's reason), values crossing segment boundaries, and a
// target that cannot run here listed unavailable with the reason. Run under qemu-user in the
// cross builds, so the models are small there (LIBSCOUT_EMULATED).
#include <gtest/gtest.h>

#include <string>

#include "core/passes.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

using testing::expect_matches_reference;

#ifdef LIBSCOUT_EMULATED
constexpr int kModelResolution = 64;
#else
constexpr int kModelResolution = 128;
#endif

const BackendInfo* find_backend(const std::string& name) {
  static const std::vector<BackendInfo> all = list_backends();
  for (const BackendInfo& b : all) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

class ArmclTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const BackendInfo* b = find_backend(GetParam());
    if (b == nullptr) GTEST_SKIP() << GetParam() << " is not built (no Arm Compute Library)";
    if (!b->available) GTEST_SKIP() << GetParam() << " is unavailable here: " << b->reason;
  }
};

// Layers of `g` that the engine did not place on `backend`, with the reasons.
std::string layers_not_placed_on(const Graph& g, const std::string& backend) {
  auto primary = create_backend(backend);
  auto fallback = create_fallback_backend();
  Engine engine(g, *primary, fallback.get(), ExecOptions{1});
  std::string out;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const LayerPlacement& p = engine.placements()[i];
    if (p.backend != backend) out += g.layers[i].name + " (" + p.fallback_reason + ") ";
  }
  return out;
}

TEST_P(ArmclTest, RunsEveryLayerOfThePaperModels) {
  for (const std::string model : {"squeezenet1.1", "mobilenet_v1"}) {
    const Graph g = load_model(model, {.resolution = kModelResolution});
    EXPECT_EQ(layers_not_placed_on(g, GetParam()), "") << model;
  }
}

TEST_P(ArmclTest, PaperModelsValidateAtOneAndTwoThreads) {
  for (const std::string model : {"squeezenet1.1", "mobilenet_v1"}) {
    const Graph g = load_model(model, {.batch = 2, .resolution = kModelResolution});
    for (int threads : {1, 2}) {
      SCOPED_TRACE(model + " with " + std::to_string(threads) + " thread(s)");
      expect_matches_reference(g, GetParam(), threads);
    }
  }
}

TEST_P(ArmclTest, OtherZooModelsValidate) {
  for (const std::string model : {"squeezenet1.0", "mobilenet_v2", "resnet18"}) {
    SCOPED_TRACE(model);
    const Graph g = load_model(model, {.resolution = kModelResolution});
    expect_matches_reference(g, GetParam(), 2, testing::kFloatTolerance, true);
  }
}

Conv2dParams square(int cout, int k, int stride, int pad, int groups = 1) {
  Conv2dParams p;
  p.out_channels = cout;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.groups = groups;
  return p;
}

// Depthwise 3x3 at stride 1 and 2 with padding (ACL's assembly depthwise kernels), depth
// multipliers, 1x1 convolutions (GEMM without im2col in NHWC), grouped convolutions (dense,
// block-diagonal weights), channel counts off the vector width.
TEST_P(ArmclTest, ConvolutionEdgeShapes) {
  struct Case {
    const char* name;
    Shape in;
    Conv2dParams p;
  };
  const Case cases[] = {
      {"depthwise3x3_s1_pad1_odd_channels", {1, 13, 9, 11}, square(13, 3, 1, 1, 13)},
      {"depthwise3x3_s2_pad1_even", {2, 24, 16, 16}, square(24, 3, 2, 1, 24)},
      {"depthwise3x3_s2_pad1_odd", {1, 17, 7, 7}, square(17, 3, 2, 1, 17)},
      {"depthwise3x3_s1_no_pad", {1, 8, 6, 6}, square(8, 3, 1, 0, 8)},
      {"depthwise_multiplier2", {1, 6, 8, 8}, square(12, 3, 1, 1, 6)},
      {"pointwise_odd", {1, 19, 5, 3}, square(37, 1, 1, 0)},
      {"pointwise_single_pixel_batch3", {3, 40, 1, 1}, square(9, 1, 1, 0)},
      {"grouped4", {1, 20, 6, 6}, square(28, 3, 2, 1, 4)},
      {"first_layer_rgb_stride2", {1, 3, 33, 33}, square(32, 3, 2, 1)},
  };
  for (const Case& c : cases) {
    for (bool relu6 : {false, true}) {
      SCOPED_TRACE(std::string(c.name) + (relu6 ? " + relu6" : ""));
      GraphBuilder b(c.name, c.in, 404);
      ValueId y = b.conv(b.input(), "conv", c.p);
      if (relu6) y = b.relu6(y, "relu6");
      Graph g = b.finish({y});
      optimize_for_inference(g);
      expect_matches_reference(g, GetParam(), 2);
    }
  }
}

// Caffe's ceil-mode pooling on odd and even sizes, with and without padding, counting it or not.
// All of these run on ACL (no fallback allowed): CEIL rounding where ACL's size is Caffe's, FLOOR
// with extra bottom/right padding where Caffe's last window would start in the padding.
TEST_P(ArmclTest, CeilModePooling) {
  struct Case {
    const char* name;
    Shape in;
    int kernel, stride, pad;
    bool max, include_pad;
  };
  const Case cases[] = {
      {"max3s2_odd", {1, 8, 55, 55}, 3, 2, 0, true, false},
      {"max3s2_even", {2, 5, 14, 14}, 3, 2, 0, true, false},
      {"max3s2_pad1_even", {1, 6, 10, 10}, 3, 2, 1, true, false},
      {"max2s2_pad1_odd_last_window_clipped", {1, 3, 9, 9}, 2, 2, 1, true, false},
      {"avg3s2_even_no_pad", {1, 4, 14, 14}, 3, 2, 0, false, true},
      {"avg3s2_pad1_exclude", {1, 4, 10, 10}, 3, 2, 1, false, false},
      {"avg3s2_pad1_include_overhang", {1, 4, 6, 6}, 3, 2, 1, false, true},
      {"avg2s2_pad1_exclude_last_window_clipped", {1, 4, 9, 9}, 2, 2, 1, false, false},
      {"avg7s1_global_like", {1, 16, 7, 7}, 7, 1, 0, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    GraphBuilder b(c.name, c.in, 505);
    ValueId y = c.max ? b.max_pool(b.input(), "pool", c.kernel, c.stride, c.pad)
                      : b.avg_pool(b.input(), "pool", c.kernel, c.stride, c.pad, true,
                                   c.include_pad);
    expect_matches_reference(b.finish({y}), GetParam());
  }
}

// Average pooling that counts the padding where Caffe's last window would start in the padding:
// ACL's ceil gives one more output and extra padding would be counted, so the layer is declined
// with ACL's reason; the model splits into three segments whose boundary values cross in NCHW.
TEST_P(ArmclTest, DeclinedLayerFallsBackWithItsReason) {
  GraphBuilder b("split", {1, 6, 9, 9}, 606);
  ValueId x = b.relu(b.conv(b.input(), "conv1", 16, 3, 1, 1), "relu1");
  ValueId odd = b.avg_pool(x, "odd_pool", 2, 2, 1, true, true);
  ValueId y = b.conv(odd, "conv2", 8, 1, 1, 0);
  ValueId z = b.concat({y, b.conv(odd, "conv3", 5, 3, 1, 1)}, "cat");
  Graph g = b.finish({b.softmax(b.fully_connected(b.flatten(z, "flat"), "fc", 10), "prob")});
  optimize_for_inference(g);

  auto primary = create_backend(GetParam());
  auto fallback = create_fallback_backend();
  Engine engine(g, *primary, fallback.get(), ExecOptions{2});
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const LayerPlacement& p = engine.placements()[i];
    if (g.layers[i].name == "odd_pool") {
      EXPECT_NE(p.backend, GetParam());
      EXPECT_NE(p.fallback_reason.find("pooled size"), std::string::npos) << p.fallback_reason;
    } else {
      EXPECT_EQ(p.backend, GetParam()) << g.layers[i].name << ": " << p.fallback_reason;
    }
  }
  EXPECT_EQ(engine.segment_count(), 3);
  expect_matches_reference(g, GetParam(), 2, testing::kFloatTolerance, true);
}

// Unfused activations and batch norms, an add reading a value twice, a fully connected output
// (ACL's matrix form) read by a softmax and exported, several graph outputs at batch 2.
TEST_P(ArmclTest, UnfusedOpsMatrixValuesAndSeveralOutputs) {
  GraphBuilder b("mixed", {2, 8, 9, 9}, 707);
  ValueId c = b.conv(b.input(), "conv", 8, 3, 1, 1);
  ValueId r = b.relu(c, "relu");
  ValueId s = b.add(c, r, "add");
  ValueId bn = b.batch_norm(s, "bn");
  ValueId r6 = b.relu6(bn, "relu6");
  ValueId pooled = b.global_avg_pool(r6, "gap");
  ValueId fc = b.fully_connected(b.flatten(pooled, "flat"), "fc", 7);
  ValueId sum = b.add(fc, b.fully_connected(b.flatten(pooled, "flat2"), "fc2", 7), "fc_sum");
  Graph g = b.finish({s, b.softmax(fc, "prob"), sum});
  optimize_for_inference(g);
  for (int threads : {1, 2}) expect_matches_reference(g, GetParam(), threads);
}

INSTANTIATE_TEST_SUITE_P(Targets, ArmclTest, ::testing::Values("armcl-neon", "armcl-cl"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::test_name(info.param);
                         });

// Both targets are listed wherever the plugin is built; one that cannot run says why, refuses
// to be created with that reason, and the rest of the tool keeps working.
TEST(ArmclTargets, UnavailableTargetIsListedWithItsReason) {
  const BackendInfo* neon = find_backend("armcl-neon");
  const BackendInfo* cl = find_backend("armcl-cl");
  if (neon == nullptr) GTEST_SKIP() << "the armcl plugin is not built (no Arm Compute Library)";
  ASSERT_NE(cl, nullptr) << "armcl-neon is listed without armcl-cl";
  EXPECT_TRUE(neon->available) << neon->reason;
  if (cl->available) {
    EXPECT_TRUE(cl->reason.empty());
    return;
  }
  EXPECT_NE(cl->reason.find("OpenCL"), std::string::npos) << cl->reason;
  try {
    create_backend("armcl-cl");
    ADD_FAILURE() << "armcl-cl was created although listed unavailable: " << cl->reason;
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(cl->reason), std::string::npos) << e.what();
  }
  // The NEON target still runs.
  GraphBuilder b("after", {1, 4, 5, 5}, 808);
  expect_matches_reference(b.finish({b.conv(b.input(), "conv", 3, 3, 1, 1)}), "armcl-neon");
}

}  // namespace
}  // namespace libscout
