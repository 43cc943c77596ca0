// The engine's own duties: placing layers on backends with a fallback (and saying why), grouping
// segments, planning and reusing buffers, batches, and refusing what it cannot run.
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/passes.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

// The real reference backend restricted to convolutions, as a library backend that lacks some
// ops is: the engine must hand the rest to the fallback.
class ConvolutionsOnly final : public Backend {
 public:
  ConvolutionsOnly() : inner_(create_backend("reference")) {}
  std::string name() const override { return "conv-only"; }
  Support supports(const Graph& g, const Layer& l) const override {
    if (l.op != OpKind::kConv2d) return Support::no("only convolutions");
    return inner_->supports(g, l);
  }
  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& o) override {
    ++prepared_segments;
    return inner_->prepare(spec, o);
  }
  int prepared_segments = 0;

 private:
  std::unique_ptr<Backend> inner_;
};

TEST(Engine, UnsupportedLayersRunOnTheFallbackWithTheReasonRecorded) {
  const Graph g = load_model("squeezenet1.1", {.resolution = 64});
  ConvolutionsOnly primary;
  auto fallback = create_backend("reference");
  Engine engine(g, primary, fallback.get(), ExecOptions{1});
  int on_primary = 0;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const LayerPlacement& p = engine.placements()[i];
    if (g.layers[i].op == OpKind::kConv2d) {
      EXPECT_EQ(p.backend, "conv-only");
      EXPECT_TRUE(p.fallback_reason.empty());
      ++on_primary;
    } else {
      EXPECT_EQ(p.backend, "reference") << g.layers[i].name;
      EXPECT_EQ(p.fallback_reason, "only convolutions");
    }
  }
  EXPECT_EQ(on_primary, 26);
  EXPECT_EQ(primary.prepared_segments, engine.segment_count() - /*fallback segments*/
                                           (engine.segment_count() - primary.prepared_segments));
  // Consecutive convolutions (squeeze, expand1x1, expand3x3) share one segment.
  EXPECT_LT(primary.prepared_segments, on_primary);

  // The mixed plan computes the same function.
  const Tensor input = make_input(g, 4);
  engine.set_input(input);
  engine.run();
  const auto want = testing::run_graph(g, "reference", input);
  EXPECT_LE(relative_l2_error(engine.output_tensor(1).span(), want[1].span()), 1e-6);
}

TEST(Engine, WithoutFallbackAnUnsupportedLayerIsAnError) {
  const Graph g = load_model("squeezenet1.1", {.resolution = 64});
  ConvolutionsOnly primary;
  try {
    Engine engine(g, primary, nullptr, ExecOptions{1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only convolutions"), std::string::npos) << e.what();
  }
}

TEST(Engine, BuffersAreReused) {
  const Graph g = load_model("mobilenet_v1", {.resolution = 128});
  auto backend = create_backend("gemm:eigen");
  Engine engine(g, *backend, nullptr, ExecOptions{1});
  std::size_t all_values = 0, widest_layer = 0;
  for (const Value& v : g.values) all_values += v.shape.elements() * sizeof(float);
  for (const Layer& l : g.layers) {
    std::size_t live = g.output_shape(l).elements();
    for (ValueId v : l.inputs) live += g.shape(v).elements();
    widest_layer = std::max(widest_layer, live * sizeof(float));
  }
  // A chain network needs the kept input plus one layer's input and output at a time: the arena
  // is close to that lower bound and far below the sum of all values.
  const std::size_t input_bytes = g.shape(g.input).elements() * sizeof(float);
  EXPECT_LE(engine.arena_bytes(), (input_bytes + widest_layer) * 5 / 4);
  EXPECT_LT(engine.arena_bytes(), all_values / 3);
  // Outputs stay intact across runs (they are never overwritten by a later layer).
  const Tensor input = make_input(g, 9);
  engine.set_input(input);
  engine.run();
  const Tensor first = engine.output_tensor(1);
  engine.run();
  EXPECT_EQ(relative_l2_error(engine.output_tensor(1).span(), first.span()), 0.0);
}

TEST(Engine, BatchItemsAreIndependent) {
  // Batch 3 where item 1 equals the batch-1 input: its outputs must equal the batch-1 outputs.
  const Graph g1 = load_model("squeezenet1.1", {.batch = 1, .resolution = 64});
  const Graph g3 = load_model("squeezenet1.1", {.batch = 3, .resolution = 64});
  const Tensor x1 = make_input(g1, 21);
  Tensor x3 = make_input(g3, 22);
  std::copy(x1.data(), x1.data() + x1.size(), x3.data() + x1.size());
  const auto y1 = testing::run_graph(g1, "gemm:eigen", x1);
  const auto y3 = testing::run_graph(g3, "gemm:eigen", x3);
  const std::size_t k = y1[0].size();
  const std::span<const float> item1(y3[0].data() + k, k);
  EXPECT_LE(relative_l2_error(item1, y1[0].span()), 1e-6);
}

TEST(Engine, UnknownBackendIsAClearError) {
  EXPECT_THROW(create_backend("gemm:no_such_blas"), Error);
  EXPECT_THROW(create_backend("cuda-magic"), Error);
}

TEST(Engine, RelativeL2Error) {
  const std::vector<float> b = {3, 4}, a = {3, 5};
  EXPECT_DOUBLE_EQ(relative_l2_error(a, b), 1.0 / 5.0);
  EXPECT_DOUBLE_EQ(relative_l2_error(b, b), 0.0);
}

}  // namespace
}  // namespace libscout
