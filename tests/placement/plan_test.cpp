// Per-layer plans on real backends: mixed placements compute the reference's function on every
// zoo model; the planner's output runs; plan files are checked as untrusted input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "backends/registry.h"
#include "core/engine.h"
#include "core/error.h"
#include "measure/model_benchmark.h"
#include "placement/plan_file.h"
#include "placement/planner.h"

namespace libscout::placement {
namespace {

namespace fs = std::filesystem;

#ifdef LIBSCOUT_EMULATED
constexpr int kResolution = 32;
#else
constexpr int kResolution = 96;
#endif

// The library backends available here, and the baseline, each created once.
std::vector<std::unique_ptr<Backend>> mixable_backends() {
  std::vector<std::unique_ptr<Backend>> out;
  for (const char* name : {"xnnpack", "onednn", "armcl", "gemm:openblas", "gemm:eigen"}) {
    try {
      out.push_back(create_backend(name));
    } catch (const Error&) {
    }
  }
  return out;
}

// Layer i on the (i + shift)-th backend that supports it, cycling: consecutive layers, and the
// producers of one concat, land on different backends.
std::vector<LayerAssignment> alternating(const Graph& g, std::vector<std::unique_ptr<Backend>>& bs,
                                         int shift) {
  std::vector<LayerAssignment> placement;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    for (std::size_t k = 0; k < bs.size(); ++k) {
      Backend& b = *bs[(i + shift + k) % bs.size()];
      if (b.supports(g, g.layers[i]).ok) {
        placement.push_back({&b, {}, false});
        break;
      }
    }
    if (placement.size() != i + 1) ADD_FAILURE() << "no backend runs " << g.layers[i].name;
  }
  return placement;
}

TEST(MixedPlans, ValidateAgainstTheReferenceOnEveryZooModel) {
  auto backends = mixable_backends();
  ASSERT_GE(backends.size(), 2u);
  for (const ModelInfo& m : list_models()) {
    const Graph g = load_model(m.name, {.resolution = kResolution});
    const Tensor input = make_input(g);
    const std::vector<Tensor> want = reference_outputs(g, input);
    for (int shift = 0; shift < 2; ++shift) {
      const std::vector<LayerAssignment> placement = alternating(g, backends, shift);
      Engine engine(g, placement, ExecOptions{1});
      std::map<std::string, int> used;
      for (const LayerPlacement& p : engine.placements()) ++used[p.backend];
      EXPECT_GE(used.size(), 2u) << m.name;
      EXPECT_GT(engine.segment_count(), static_cast<int>(g.layers.size()) / 2) << m.name;
      engine.set_input(input);
      engine.run();
      for (std::size_t o = 0; o < want.size(); ++o) {
        EXPECT_LE(relative_l2_error(engine.output_tensor(static_cast<int>(o)).span(),
                                    want[o].span()),
                  1e-4)
            << m.name << ", shift " << shift;
      }
    }
  }
}

TEST(MixedPlans, ALayerOnABackendThatCannotRunItIsAnError) {
  const Graph g = load_model("squeezenet1.1", {.resolution = kResolution});
  auto reference = create_backend("reference");
  // A backend that declines every layer but convolutions, placed everywhere.
  class ConvOnly final : public Backend {
   public:
    explicit ConvOnly(Backend& inner) : inner_(inner) {}
    std::string name() const override { return "conv-only"; }
    Support supports(const Graph& g, const Layer& l) const override {
      return l.op == OpKind::kConv2d ? inner_.supports(g, l) : Support::no("only convolutions");
    }
    std::unique_ptr<Segment> prepare(const SegmentSpec& s, const ExecOptions& o) override {
      return inner_.prepare(s, o);
    }

   private:
    Backend& inner_;
  } conv_only(*reference);
  std::vector<LayerAssignment> placement(g.layers.size(), {&conv_only, {}, false});
  try {
    Engine engine(g, placement, ExecOptions{1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only convolutions"), std::string::npos) << e.what();
  }
  placement.pop_back();
  EXPECT_THROW(Engine(g, placement, ExecOptions{1}), Error);
}

// Every concat done in place by the engine while its producers run on different backends (some
// exporting from their own layouts): the same function, and no concat left to run.
TEST(InPlaceConcat, ProducersWriteTheirSlicesOnAnyBackend) {
  auto backends = mixable_backends();
  for (const char* model : {"squeezenet1.1", "squeezenet1.0"}) {
    const Graph g = load_model(model, {.resolution = kResolution});
    const Tensor input = make_input(g);
    const std::vector<Tensor> want = reference_outputs(g, input);
    std::vector<LayerAssignment> placement = alternating(g, backends, 0);
    int in_place = 0;
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      if (g.layers[i].op != OpKind::kConcat) continue;
      ASSERT_TRUE(can_concat_in_place(g, g.layers[i])) << g.layers[i].name;
      placement[i] = {nullptr, {}, false, true};
      ++in_place;
    }
    EXPECT_EQ(in_place, 8) << model;
    Engine engine(g, placement, ExecOptions{1});
    engine.set_input(input);
    engine.run();
    EXPECT_LE(relative_l2_error(engine.output_tensor(1).span(), want[1].span()), 1e-4) << model;
    // Run twice: a second inference reads nothing stale.
    engine.run();
    EXPECT_LE(relative_l2_error(engine.output_tensor(1).span(), want[1].span()), 1e-4) << model;
    for (std::size_t i = 0; i < g.layers.size(); ++i) {
      if (g.layers[i].op == OpKind::kConcat) {
        EXPECT_EQ(engine.placements()[i].backend, kInPlaceConcat);
      }
    }
  }
}

// A backend that asks for it (native: NCHW everywhere) gets the engine's in-place concats from
// the one-backend constructor too; one that does not (reference) keeps its own.
TEST(InPlaceConcat, OneBackendEngineDoesTheConcatsOfABackendThatAsks) {
  const Graph g = load_model("squeezenet1.1", {.resolution = kResolution});
  const Tensor input = make_input(g);
  const std::vector<Tensor> want = reference_outputs(g, input);
  auto native = create_backend("native");
  auto reference = create_backend("reference");
  ASSERT_TRUE(native->concat_in_place());
  ASSERT_FALSE(reference->concat_in_place());
  Engine engine(g, *native, nullptr, ExecOptions{2});
  Engine plain(g, *reference, nullptr, ExecOptions{1});
  int in_place = 0;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const bool concat = g.layers[i].op == OpKind::kConcat;
    in_place += engine.placements()[i].backend == kInPlaceConcat ? 1 : 0;
    EXPECT_EQ(engine.placements()[i].backend, concat ? kInPlaceConcat : "native");
    EXPECT_EQ(plain.placements()[i].backend, "reference");
  }
  EXPECT_EQ(in_place, 8);
  engine.set_input(input);
  for (int run = 0; run < 2; ++run) {
    engine.run();
    EXPECT_LE(relative_l2_error(engine.output_tensor(1).span(), want[1].span()), 1e-4);
  }
}

TEST(InPlaceConcat, IsRefusedWhereSlicesAreNotContiguousOrAnInputIsReadElsewhere) {
  const Graph batch2 = load_model("squeezenet1.1", {.batch = 2, .resolution = kResolution});
  auto reference = create_backend("reference");
  std::vector<LayerAssignment> placement(batch2.layers.size(), {reference.get(), {}, false});
  for (std::size_t i = 0; i < batch2.layers.size(); ++i) {
    if (batch2.layers[i].op != OpKind::kConcat) continue;
    EXPECT_FALSE(can_concat_in_place(batch2, batch2.layers[i]));
    placement[i] = {nullptr, {}, false, true};
    EXPECT_THROW(Engine(batch2, placement, ExecOptions{1}), Error);
    break;
  }
  // A concat of the network's input is refused too (the caller writes that buffer).
  Graph g = load_model("squeezenet1.1", {.resolution = kResolution});
  Layer cat;
  cat.name = "input_twice";
  cat.op = OpKind::kConcat;
  cat.inputs = {g.input, g.layers[0].output};
  EXPECT_FALSE(can_concat_in_place(g, cat));
}

class PlanFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("libscout_plan_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

// A real plan of a small network over two fast baselines: the chosen placement runs through
// benchmark_model as backend auto and validates; the file round-trips.
TEST_F(PlanFileTest, APlanMadeHereRunsAsBackendAutoAndRoundTrips) {
  PlanOptions opts;
  opts.model = "squeezenet1.1";
  opts.model_options.resolution = kResolution;
  opts.backends = {"gemm:openblas", "gemm:eigen", "xnnpack", "no-such-backend"};
  opts.repeats = 2;
  opts.verify_rounds = 2;
  opts.verify_runs = 1;
  // Every backend stays a contender however slow it is here (a sanitized build's Eigen takes 40x
  // the time of the uninstrumented OpenBLAS): this test is about the plan file, not the cut.
  opts.too_slow = 1e3;
  const Plan plan = make_plan(opts);
  ASSERT_EQ(plan.layers.size(), load_model("squeezenet1.1", {.resolution = kResolution}).layers.size());
  EXPECT_TRUE(plan.not_considered.count("no-such-backend"));
  EXPECT_FALSE(plan.chosen.empty());
  EXPECT_GE(plan.contenders.size(), 2u);
  for (const PlannedLayer& l : plan.layers) {
    EXPECT_FALSE(l.backend.empty()) << l.name;
    EXPECT_FALSE(l.alternatives.empty()) << l.name;
  }
  const std::string path = write("plan.json", plan_json(plan).dump());
  const Plan back = read_plan(path);
  EXPECT_EQ(plan_json(back), plan_json(plan));

  BenchmarkOptions b;
  b.model = "squeezenet1.1";
  b.model_options.resolution = kResolution;
  b.backend = "auto";
  b.iterations = 2;
  b.warmup = 0;
  b.layer_backends = plan_placement(back, load_model(b.model, b.model_options));
  b.plan_source = path;
  const BenchmarkResult r = benchmark_model(b);
  EXPECT_TRUE(r.validation.passed) << r.validation.rel_l2_error;
  EXPECT_EQ(r.backend, "auto");
  EXPECT_EQ(r.settings.value("plan", ""), path);
  EXPECT_FALSE(r.backends_used.empty());
}

TEST_F(PlanFileTest, MalformedPlansAndPlansForAnotherModelAreErrors) {
  const Graph sq = load_model("squeezenet1.1", {.resolution = kResolution});
  Plan plan;
  plan.model = "squeezenet1.1";
  plan.input_shape = sq.shape(sq.input).str();
  plan.chosen = "gemm:openblas";
  for (const Layer& l : sq.layers) plan.layers.push_back({l.name, op_name(l.op), "gemm:openblas", {}});
  const nlohmann::json good = plan_json(plan);
  EXPECT_EQ(plan_placement(plan_from_json(good, "test"), sq).size(), sq.layers.size());

  EXPECT_THROW(read_plan(write("text.json", "not json {")), Error);
  EXPECT_THROW(read_plan((dir_ / "missing.json").string()), Error);
  EXPECT_THROW(read_plan(write("run.json", R"({"schema": "libscout.run/1"})")), Error);
  for (const char* key : {"layers", "model", "threads", "input_shape"}) {
    nlohmann::json j = good;
    j.erase(key);
    EXPECT_THROW(plan_from_json(j, "test"), Error) << key;
  }
  nlohmann::json wrong_type = good;
  wrong_type["layers"][3]["backend"] = 7;
  EXPECT_THROW(plan_from_json(wrong_type, "test"), Error);
  nlohmann::json empty_backend = good;
  empty_backend["layers"][0]["backend"] = "";
  EXPECT_THROW(plan_from_json(empty_backend, "test"), Error);

  const Graph mo = load_model("mobilenet_v1", {.resolution = kResolution});
  try {
    plan_placement(plan, mo);
    FAIL() << "a SqueezeNet plan was accepted for MobileNet";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
}

TEST_F(PlanFileTest, APlanFromAnotherDeviceThreadCountOrLibraryVersionWarns) {
  const Graph g = load_model("squeezenet1.1", {.resolution = kResolution});
  Plan plan;
  plan.model = "squeezenet1.1";
  plan.input_shape = g.shape(g.input).str();
  plan.threads = 1;
  plan.device = {{"cpu_model", "Some Other CPU"}};
  plan.library_versions = {{"onednn", "oneDNN 0.1"}};
  const auto w = plan_warnings(plan, g, 2, {{"onednn", "oneDNN 2.6.3"}});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("Some Other CPU"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("2"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find("oneDNN 0.1"), std::string::npos) << w[2];
}

}  // namespace
}  // namespace libscout::placement
