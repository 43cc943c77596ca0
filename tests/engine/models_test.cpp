// The model zoo: multiply-accumulate counts as the papers quote them, the load passes preserving
// the function, and every available backend's SqueezeNet v1.1 and MobileNet v1 against the
// reference.
#include <gtest/gtest.h>

#include <map>

#include "core/graph.h"
#include "core/passes.h"
#include "backends/reference/reference_backend.h"
#include "measure/model_benchmark.h"
#include "models/graph_builder.h"
#include "models/zoo.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

// Under emulation (cross builds run by qemu-user) whole models run at a smaller resolution; the
// architecture and every layer kind stay the same.
int model_resolution() {
#ifdef LIBSCOUT_EMULATED
  return 96;
#else
  return 224;
#endif
}

// reference_outputs() computes a batch image by image on several threads: the result must be
// bit for bit what one engine computes on the whole batch.
TEST(Reference, BatchComputedPerImageEqualsTheWholeBatch) {
  const Graph g = load_model("squeezenet1.1", {.batch = 3, .resolution = 64});
  const Tensor input = make_input(g);
  const std::vector<Tensor> per_image = reference_outputs(g, input);
  auto reference = make_reference_backend();
  Engine engine(g, *reference, nullptr, {});
  engine.set_input(input);
  engine.run();
  ASSERT_EQ(per_image.size(), g.outputs.size());
  for (std::size_t o = 0; o < g.outputs.size(); ++o) {
    const Tensor whole = engine.output_tensor(static_cast<int>(o));
    ASSERT_EQ(per_image[o].shape(), whole.shape());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      ASSERT_EQ(per_image[o].data()[i], whole.data()[i]) << "output " << o << " element " << i;
    }
  }
}

TEST(Zoo, MacCountsMatchThePublishedArchitectures) {
  const std::map<std::string, std::int64_t> want = {
      {"squeezenet1.1", 349'151'936}, {"squeezenet1.0", 818'924'576},
      {"mobilenet_v1", 568'740'352},  {"mobilenet_v2", 300'774'272},
      {"resnet18", 1'814'073'344}};
  for (const auto& [name, macs] : want) {
    EXPECT_EQ(count_macs(build_model(name)), macs) << name;
    // Folding batch norms and fusing activations does not change the count.
    EXPECT_EQ(count_macs(load_model(name)), macs) << name << " after the load passes";
  }
}

TEST(Zoo, EveryListedModelBuilds) {
  for (const ModelInfo& m : list_models()) {
    const Graph g = load_model(m.name, {.resolution = 64});
    EXPECT_EQ(g.shape(g.outputs.back()), (Shape{1, 1000, 1, 1})) << m.name;
  }
}

TEST(Zoo, ParameterCounts) {
  EXPECT_EQ(count_parameters(build_model("squeezenet1.1")), 1'235'496);
  EXPECT_EQ(count_parameters(build_model("squeezenet1.0")), 1'248'424);
}

TEST(Zoo, MobileNetWidthAndResolutionOptions) {
  const Graph half = load_model("mobilenet_v1", {.resolution = 160, .width = 0.5f});
  EXPECT_EQ(half.shape(half.input), (Shape{1, 3, 160, 160}));
  EXPECT_LT(count_macs(half), count_macs(load_model("mobilenet_v1")) / 4);
  EXPECT_THROW(load_model("mobilenet_v1", {.width = 0.0f}), Error);
  EXPECT_THROW(load_model("squeezenet1.1", {.resolution = 8}), Error);
  EXPECT_THROW(load_model("no_such_model"), Error);
}

TEST(Zoo, WeightsAreDeterministic) {
  const Graph a = build_model("squeezenet1.1"), b = build_model("squeezenet1.1");
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    ASSERT_EQ(a.layers[i].weight.size(), b.layers[i].weight.size());
    for (std::size_t k = 0; k < a.layers[i].weight.size(); ++k) {
      ASSERT_EQ(a.layers[i].weight[k], b.layers[i].weight[k]) << a.layers[i].name;
    }
  }
  // A different seed gives different weights.
  const Graph c = build_model("squeezenet1.1", {.seed = 1});
  EXPECT_NE(a.layers[0].weight[0], c.layers[0].weight[0]);
}

// Folding batch norms into convolutions (and fusing activations) keeps the function.
TEST(Passes, LoadPassesPreserveTheFunction) {
  for (const std::string name : {"mobilenet_v1", "mobilenet_v2", "resnet18"}) {
    const Graph raw = build_model(name, {.resolution = 64});
    Graph optimized = raw.clone();
    optimize_for_inference(optimized);
    EXPECT_LT(optimized.layers.size(), raw.layers.size()) << name;
    for (const Layer& l : optimized.layers) {
      EXPECT_NE(l.op, OpKind::kBatchNorm) << name << ": " << l.name << " not folded";
    }
    const Tensor input = make_input(raw, 3);
    const auto want = testing::run_graph(raw, "reference", input);
    const auto got = testing::run_graph(optimized, "reference", input);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      // Folded weights are rounded to float once: float32's tolerance, not exact equality.
      EXPECT_LE(relative_l2_error(got[i].span(), want[i].span()), testing::kFloatTolerance)
          << name;
    }
  }
}

TEST(Passes, ActivationIsNotFusedWhenItsInputHasAnotherReader) {
  // The add reads the convolution's raw output as well as the ReLU's: fusing would change it.
  GraphBuilder b("shared", {1, 2, 4, 4}, 1);
  ValueId c = b.conv(b.input(), "conv", 2, 1, 1, 0);
  ValueId r = b.relu(c, "relu");
  ValueId s = b.add(c, r, "add");  // reads the convolution's raw output too
  Graph g = b.finish({s});
  EXPECT_EQ(fuse_activations(g), 0);
}

using ModelParam = std::tuple<std::string, std::string>;  // model, backend

class ModelTest : public ::testing::TestWithParam<ModelParam> {};

TEST_P(ModelTest, MatchesReference) {
  const auto& [model, backend] = GetParam();
  const Graph g = load_model(model, {.resolution = model_resolution()});
  testing::expect_matches_reference(g, backend, 2);
}

std::vector<ModelParam> model_params() {
  std::vector<ModelParam> out;
  for (const std::string model : {"squeezenet1.1", "mobilenet_v1"}) {
    for (const std::string& backend : testing::available_backends()) {
      out.emplace_back(model, backend);
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ModelTest, ::testing::ValuesIn(model_params()),
                         [](const ::testing::TestParamInfo<ModelParam>& info) {
                           return testing::test_name(std::get<0>(info.param)) + "_" +
                                  testing::test_name(std::get<1>(info.param));
                         });

// The other zoo models on the baseline, at a small resolution, batch 2.
TEST(OtherModels, MatchReferenceOnTheBaseline) {
  for (const std::string name : {"squeezenet1.0", "mobilenet_v2", "resnet18"}) {
    const Graph g = load_model(name, {.batch = 2, .resolution = 64});
    testing::expect_matches_reference(g, "gemm:eigen", 2);
  }
}

}  // namespace
}  // namespace libscout
