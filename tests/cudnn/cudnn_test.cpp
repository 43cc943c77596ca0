// The cudnn backend beyond the shared op and model suites (tests/engine, tests/backends_nn): the
// five zoo models at 224x224 and batch 1 and 3, CUDA graphs on and off, graphs built without the
// load passes (batch norms folded and activations fused by the backend itself), concat inputs
// written in place or copied, per-layer profiling, device time, the settings that record what
// ran, a batch too large for the GPU as a clear error, and, without a GPU, the backend listed
// unavailable with the reason. GPU cases skip with the reason where no GPU is usable.
#include <gtest/gtest.h>

#include <string>

#include "core/passes.h"
#include "models/graph_builder.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

using testing::expect_matches_reference;

const BackendInfo* cudnn_info() {
  static const std::vector<BackendInfo> all = list_backends();
  for (const BackendInfo& b : all) {
    if (b.name == "cudnn") return &b;
  }
  return nullptr;
}

TEST(CudnnListing, ListedAndUnavailableOnlyWithAReason) {
  const BackendInfo* b = cudnn_info();
  if (b == nullptr) GTEST_SKIP() << "the cudnn plugin is not built (no CUDA toolkit or cuDNN)";
  if (b->available) {
    EXPECT_TRUE(b->reason.empty()) << b->reason;
    EXPECT_EQ(create_backend("cudnn")->device(), DeviceKind::kGpu);
    return;
  }
  EXPECT_FALSE(b->reason.empty());
  try {
    create_backend("cudnn");
    ADD_FAILURE() << "cudnn was created although listed unavailable: " << b->reason;
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(b->reason), std::string::npos) << e.what();
  }
}

class Cudnn : public ::testing::Test {
 protected:
  void SetUp() override {
    const BackendInfo* b = cudnn_info();
    if (b == nullptr) GTEST_SKIP() << "the cudnn plugin is not built (no CUDA toolkit or cuDNN)";
    if (!b->available) GTEST_SKIP() << "cudnn is unavailable here: " << b->reason;
  }
};

// Output errors of `g` on cudnn with these options, against the reference on the same input.
void expect_valid_with(const Graph& g, const ExecOptions& opts) {
  const Tensor input = make_input(g, 11);
  const std::vector<Tensor> want = testing::run_graph(g, "reference", input);
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, opts);
  engine.set_input(input);
  for (int run = 0; run < 2; ++run) {  // a replay gives the same result as the first run
    engine.run();
    for (std::size_t i = 0; i < want.size(); ++i) {
      const Tensor got = engine.output_tensor(static_cast<int>(i));
      EXPECT_LE(relative_l2_error(got.span(), want[i].span()), testing::kFloatTolerance)
          << g.name << " output " << i << " run " << run << ": "
          << testing::worst_element(got, want[i]);
    }
    EXPECT_GT(engine.last_device_ms(), 0.0);
  }
}

TEST_F(Cudnn, ZooModelsValidateAtBatchOneAndThree) {
  for (const std::string model :
       {"squeezenet1.1", "mobilenet_v1", "squeezenet1.0", "mobilenet_v2", "resnet18"}) {
    for (int batch : {1, 3}) {
      SCOPED_TRACE(model + " at batch " + std::to_string(batch));
      expect_matches_reference(load_model(model, {.batch = batch}), "cudnn");
    }
  }
}

TEST_F(Cudnn, CudaGraphsOnAndOffGiveTheReferenceResult) {
  const Graph g = load_model("squeezenet1.1", {.batch = 2, .resolution = 96});
  for (bool graph : {true, false}) {
    SCOPED_TRACE(graph ? "CUDA graph on" : "CUDA graph off");
    ExecOptions opts;
    opts.cuda_graph = graph;
    expect_valid_with(g, opts);
  }
}

// build_model leaves batch norms and activations as separate layers: the backend folds and fuses
// them itself and records how many layers it absorbed.
TEST_F(Cudnn, UnoptimizedGraphIsFoldedAndFusedByTheBackend) {
  const Graph g = build_model("mobilenet_v1", {.batch = 2, .resolution = 64});
  expect_matches_reference(g, "cudnn");
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, ExecOptions{});
  const nlohmann::json s = backend->settings();
  ASSERT_TRUE(s.contains("layers_absorbed")) << s.dump();
  EXPECT_EQ(s["layers_absorbed"].get<int>(), 27 * 2 + 1);  // 27 batch norms, 27 ReLU6, flatten
}

// A value that another layer (or the caller) also reads is neither fused nor written in place.
TEST_F(Cudnn, SharedValuesAreNotFusedOrAliased) {
  GraphBuilder b("shared", {2, 6, 10, 10}, 901);
  ValueId c = b.conv(b.input(), "conv", 8, 3, 1, 1);
  ValueId r = b.relu(c, "relu");            // c is also a graph output: not fused
  ValueId bn = b.batch_norm(b.conv(r, "conv2", 8, 1, 1, 0), "bn");  // folded
  ValueId e = b.conv(r, "conv3", 5, 1, 1, 0);
  ValueId cat = b.concat({bn, e, b.input(), r}, "cat");  // input and r: copied
  ValueId p = b.max_pool(cat, "pool", 3, 2);  // ceil mode, 10 -> 5: the Caffe kernel
  Graph g = b.finish({c, b.softmax(b.fully_connected(b.flatten(p, "flat"), "fc", 10), "prob")});
  expect_valid_with(g, ExecOptions{});
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, ExecOptions{});
  const nlohmann::json s = backend->settings();
  EXPECT_EQ(s["concat_inputs_written_in_place"].get<int>(), 2) << s.dump();
  EXPECT_EQ(s["layers_absorbed"].get<int>(), 2) << s.dump();  // the batch norm and the flatten
}

TEST_F(Cudnn, SettingsRecordWhatRan) {
  const Graph g = load_model("squeezenet1.1", {.resolution = 96});
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, ExecOptions{});
  const nlohmann::json s = backend->settings();
  for (const char* key : {"gpu", "cudnn_version", "cublas_version", "math", "cuda_graph",
                          "convolutions", "graph", "micro_batches", "branch_concurrency"}) {
    EXPECT_TRUE(s.contains(key)) << key << " missing from " << s.dump();
  }
  EXPECT_EQ(s["cuda_graph"], "on");
  EXPECT_NE(s["math"].get<std::string>().find("no TF32"), std::string::npos);
  EXPECT_EQ(s["concat_inputs_written_in_place"].get<int>(), 16);  // 8 fire modules, 2 inputs each
  int conv_keys = 0;
  for (const Layer& l : g.layers) {
    if (l.op != OpKind::kConv2d) continue;
    ASSERT_TRUE(s.contains("layer." + l.name)) << l.name;
    EXPECT_NE(s["layer." + l.name].get<std::string>().find("[chosen]"), std::string::npos);
    ++conv_keys;
  }
  EXPECT_EQ(conv_keys, 26);
}

// A large input is also tried in micro-batches (the upload of the next part overlapped with the
// layers on this one); whichever way is kept gives the reference result.
TEST_F(Cudnn, LargeInputTriesMicroBatches) {
  const Graph g = load_model("squeezenet1.1", {.batch = 16});  // 9.6 MB of input
  expect_valid_with(g, ExecOptions{});
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, ExecOptions{});
  const std::string micro = backend->settings()["micro_batches"].get<std::string>();
  EXPECT_NE(micro.find("2 micro-batches of 8"), std::string::npos) << micro;
}

TEST_F(Cudnn, TF32IsRecordedWhenAllowed) {
  const Graph g = load_model("mobilenet_v1", {.resolution = 64});
  auto backend = create_backend("cudnn");
  ExecOptions opts;
  opts.allow_tf32 = true;
  Engine engine(g, *backend, nullptr, opts);
  EXPECT_NE(backend->settings()["math"].get<std::string>().find("TF32 allowed"),
            std::string::npos);
  const Tensor input = make_input(g, 3);
  engine.set_input(input);
  engine.run();
  const Tensor want = std::move(testing::run_graph(g, "reference", input)[0]);
  EXPECT_LE(relative_l2_error(engine.output_tensor(0).span(), want.span()), 1e-2);
}

class CountingProfiler final : public LayerProfiler {
 public:
  explicit CountingProfiler(std::size_t layers) : begins(layers, 0), ends(layers, 0) {}
  void begin(LayerId l) override { ++begins[l]; }
  void end(LayerId l) override { ++ends[l]; }
  std::vector<int> begins, ends;
};

TEST_F(Cudnn, ProfiledRunMarksEveryLayerAndStillValidates) {
  const Graph g = load_model("mobilenet_v1", {.batch = 2, .resolution = 64});
  const Tensor input = make_input(g, 5);
  const Tensor want = std::move(testing::run_graph(g, "reference", input)[1]);
  auto backend = create_backend("cudnn");
  Engine engine(g, *backend, nullptr, ExecOptions{});
  engine.set_input(input);
  CountingProfiler profiler(g.layers.size());
  engine.run(&profiler);
  for (std::size_t l = 0; l < g.layers.size(); ++l) {
    EXPECT_EQ(profiler.begins[l], 1) << g.layers[l].name;
    EXPECT_EQ(profiler.ends[l], 1) << g.layers[l].name;
  }
  EXPECT_LE(relative_l2_error(engine.output_tensor(1).span(), want.span()),
            testing::kFloatTolerance);
  EXPECT_GT(engine.last_device_ms(), 0.0);
}

TEST_F(Cudnn, BatchTooLargeForTheGpuIsAClearError) {
  // About 5 MB of live activations per image: 40,000 images need far more than any GPU has.
  const Graph g = load_model("mobilenet_v1", {.batch = 40000});
  auto backend = create_backend("cudnn");
  try {
    Engine engine(g, *backend, nullptr, ExecOptions{});
    ADD_FAILURE() << "a batch of 40000 was prepared";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace libscout
