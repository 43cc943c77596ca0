// The neural-network library backends (onednn, xnnpack; armcl-neon and armcl-cl on ARM builds;
// the GPU backends gemm:cublas and cudnn where a GPU is present)
// beyond the generic op and model suites of tests/engine: every layer of the paper's models placed
// on the library, validation at one and two threads, depthwise and pointwise edge shapes, Caffe's
// pooling edge cases, a layer the library declines falling back with the reason recorded, values
// crossing segment boundaries in NCHW, and a target that cannot run here listed with the reason.
// Run under qemu-user in the cross builds, so the models are small there (LIBSCOUT_EMULATED).
#include <gtest/gtest.h>

#include <string>

#include "core/passes.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"
#include "support/conv_params.h"

namespace libscout {
namespace {

using testing::expect_matches_reference;

// Input sizes of the whole-model tests: the paper's 224 for placement, smaller for validation.
#ifdef LIBSCOUT_EMULATED
constexpr int kPlacementResolution = 64, kValidationResolution = 64, kOtherModelsResolution = 64;
#else
constexpr int kPlacementResolution = 224, kValidationResolution = 128, kOtherModelsResolution = 96;
#endif

const BackendInfo* find_backend(const std::string& name) {
  static const std::vector<BackendInfo> all = list_backends();
  for (const BackendInfo& b : all) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

class NnBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const BackendInfo* b = find_backend(GetParam());
    if (b == nullptr) GTEST_SKIP() << GetParam() << " is not built (its library was not found at build time)";
    if (!b->available) GTEST_SKIP() << GetParam() << " is unavailable here: " << b->reason;
  }
};

// Engine placements of `g` on `backend` with the fallback: which layers did not go to it.
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

TEST_P(NnBackendTest, RunsEveryLayerOfThePaperModels) {
  for (const std::string model : {"squeezenet1.1", "mobilenet_v1"}) {
    const Graph g = load_model(model, {.resolution = kPlacementResolution});
    EXPECT_EQ(layers_not_placed_on(g, GetParam()), "") << model;
  }
}

TEST_P(NnBackendTest, PaperModelsValidateAtOneAndTwoThreads) {
  for (const std::string model : {"squeezenet1.1", "mobilenet_v1"}) {
    const Graph g = load_model(model, {.batch = 2, .resolution = kValidationResolution});
    for (int threads : {1, 2}) {
      SCOPED_TRACE(model + " with " + std::to_string(threads) + " thread(s)");
      expect_matches_reference(g, GetParam(), threads);
    }
  }
}

TEST_P(NnBackendTest, OtherZooModelsValidate) {
  for (const std::string model : {"squeezenet1.0", "mobilenet_v2", "resnet18"}) {
    SCOPED_TRACE(model);
    const Graph g = load_model(model, {.resolution = kOtherModelsResolution});
    expect_matches_reference(g, GetParam(), 2, testing::kFloatTolerance, true);
  }
}

Graph conv_graph(const std::string& name, Shape in, Conv2dParams p, bool relu6) {
  GraphBuilder b(name, in, 404);
  ValueId y = b.conv(b.input(), "conv", p);
  if (relu6) y = b.relu6(y, "relu6");
  Graph g = b.finish({y});
  optimize_for_inference(g);
  return g;
}

Conv2dParams square(int cout, int k, int stride, int pad, int groups = 1) {
  return testing::square_conv(cout, k, stride, pad, groups);
}

// Channel counts off the libraries' blocks (8, 16), depth multipliers, single pixels.
TEST_P(NnBackendTest, ConvolutionEdgeShapes) {
  struct Case {
    const char* name;
    Shape in;
    Conv2dParams p;
  };
  const Case cases[] = {
      {"depthwise3x3_s1_odd_channels", {1, 13, 9, 11}, square(13, 3, 1, 1, 13)},
      {"depthwise3x3_s2_even", {2, 24, 16, 16}, square(24, 3, 2, 1, 24)},
      {"depthwise3x3_s2_odd", {1, 17, 7, 7}, square(17, 3, 2, 1, 17)},
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
      expect_matches_reference(conv_graph(c.name, c.in, c.p, relu6), GetParam(), 2);
    }
  }
}

// Caffe's ceil-mode pooling, with and without padding, counting it or not, on odd and even
// sizes. Where the library cannot give Caffe's result the layer falls back (checked below).
TEST_P(NnBackendTest, CeilModePooling) {
  struct Case {
    const char* name;
    Shape in;
    int kernel, stride, pad;
    bool max, include_pad;
  };
  const Case cases[] = {
      {"max3s2_odd", {1, 8, 113, 113}, 3, 2, 0, true, false},  // SqueezeNet v1.1's first pool
      {"max3s2_even", {2, 5, 14, 14}, 3, 2, 0, true, false},
      {"max3s2_pad1_even", {1, 6, 10, 10}, 3, 2, 1, true, false},
      {"max2s2_pad1_odd", {1, 3, 9, 9}, 2, 2, 1, true, false},
      {"avg3s2_even_no_pad", {1, 4, 14, 14}, 3, 2, 0, false, true},
      {"avg3s2_pad1_exclude", {1, 4, 10, 10}, 3, 2, 1, false, false},
      {"avg3s2_pad1_include_overhang", {1, 4, 6, 6}, 3, 2, 1, false, true},
      {"avg2s2_pad1_include", {1, 4, 9, 9}, 2, 2, 1, false, true},
      {"avg7s1_global_like", {1, 16, 7, 7}, 7, 1, 0, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    GraphBuilder b(c.name, c.in, 505);
    ValueId y = c.max ? b.max_pool(b.input(), "pool", c.kernel, c.stride, c.pad)
                      : b.avg_pool(b.input(), "pool", c.kernel, c.stride, c.pad, true,
                                   c.include_pad);
    const Graph g = b.finish({y});
    expect_matches_reference(g, GetParam(), 1, testing::kFloatTolerance, true);
  }
}

// A layer the library declines splits the model into segments: values crossing the boundary go
// through the engine's NCHW buffers, and the placement says why.
TEST_P(NnBackendTest, DeclinedLayerFallsBackWithItsReason) {
  // One layer each library declines: oneDNN and ACL an average pooling that counts padding where
  // Caffe's last window starts in it; XNNPACK a 1x1 pooling with a stride.
  const bool xnnpack = GetParam() == "xnnpack", armcl = GetParam().rfind("armcl", 0) == 0;
  const int hw = armcl ? 9 : 12;
  GraphBuilder b("split", {1, 6, hw, hw}, 606);
  ValueId x = b.conv(b.input(), "conv1", 16, 3, 1, 1);
  x = b.relu(x, "relu1");
  ValueId odd = xnnpack ? b.max_pool(x, "odd_pool", 1, 2, 0, false)
                        : b.avg_pool(x, "odd_pool", armcl ? 2 : 3, 2, 1, true, true);
  ValueId y = b.conv(odd, "conv2", 8, 1, 1, 0);
  ValueId z = b.concat({y, b.conv(odd, "conv3", 5, 3, 1, 1)}, "cat");
  Graph g = b.finish({b.softmax(b.fully_connected(b.flatten(z, "flat"), "fc", 10), "prob")});
  optimize_for_inference(g);

  auto primary = create_backend(GetParam());
  auto fallback = create_fallback_backend();
  Engine engine(g, *primary, fallback.get(), ExecOptions{2});
  if (primary->device() == DeviceKind::kGpu) {
    // A GPU backend may run this pooling itself (gemm:cublas runs every op): whatever it declines
    // falls back with its reason (backends_gpu tests segment boundaries on the GPU otherwise).
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      const Support s = primary->supports(g, g.layers[i]);
      const LayerPlacement& p = engine.placements()[i];
      EXPECT_EQ(p.backend == GetParam(), s.ok) << g.layers[i].name;
      if (!s.ok) {
        EXPECT_EQ(p.fallback_reason, s.reason) << g.layers[i].name;
      }
    }
    expect_matches_reference(g, GetParam(), 2, testing::kFloatTolerance, true);
    return;
  }
  int declined = 0;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const LayerPlacement& p = engine.placements()[i];
    if (g.layers[i].name == "odd_pool") {
      EXPECT_NE(p.backend, GetParam());
      EXPECT_FALSE(p.fallback_reason.empty());
      if (armcl) {
        EXPECT_NE(p.fallback_reason.find("pooled size"), std::string::npos) << p.fallback_reason;
      }
      ++declined;
    } else {
      EXPECT_EQ(p.backend, GetParam()) << g.layers[i].name << ": " << p.fallback_reason;
    }
  }
  EXPECT_EQ(declined, 1);
  EXPECT_EQ(engine.segment_count(), 3);
  expect_matches_reference(g, GetParam(), 2, testing::kFloatTolerance, true);
}

// Unfused activations and batch norms, an add reading a value twice, fully connected outputs
// read by a softmax and an add, several graph outputs (each exported in NCHW while the segment
// goes on), batch 2.
TEST_P(NnBackendTest, UnfusedOpsAndSeveralOutputs) {
  GraphBuilder b("mixed", {2, 8, 9, 9}, 707);
  ValueId c = b.conv(b.input(), "conv", 8, 3, 1, 1);
  ValueId r = b.relu(c, "relu");     // stays unfused: the add reads the raw convolution too
  ValueId s = b.add(c, r, "add");
  ValueId bn = b.batch_norm(s, "bn");  // no convolution right before: not folded
  ValueId r6 = b.relu6(bn, "relu6");
  ValueId pooled = b.global_avg_pool(r6, "gap");
  ValueId fc = b.fully_connected(b.flatten(pooled, "flat"), "fc", 7);
  ValueId sum = b.add(fc, b.fully_connected(b.flatten(pooled, "flat2"), "fc2", 7), "fc_sum");
  Graph g = b.finish({s, b.softmax(fc, "prob"), sum});
  optimize_for_inference(g);
  for (int threads : {1, 2}) expect_matches_reference(g, GetParam(), threads);
}

INSTANTIATE_TEST_SUITE_P(Libraries, NnBackendTest,
                         ::testing::Values("onednn", "xnnpack", "armcl-neon", "armcl-cl",
                                           "gemm:cublas", "cudnn"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::test_name(info.param);
                         });

// Both ACL targets are listed wherever the plugin is built; one that cannot run says why, refuses
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
