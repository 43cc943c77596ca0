// The GPU backends (gemm:cublas, cudnn) beyond the op suite of tests/engine: the five zoo models at
// batch 1 and 3, CUDA graph on and off, TF32 recorded, per-layer profiling, a GPU segment between
// CPU segments (values uploaded and downloaded at its edges), out of GPU memory as a clear error,
// and, without a GPU, the backends listed unavailable with the reason. Every case but the last
// skips with the reason when the backend is not built or there is no GPU.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "core/passes.h"
#include "core/plugins.h"
#include "models/graph_builder.h"
#include "support/gpu_check.h"

namespace libscout {
namespace {

using testing::expect_gpu_matches_reference;
using testing::gpu_options;

// Input size of the whole-model cases (the reference, plain loops in double, is the slow part).
constexpr int kModelResolution = 160;

class GpuBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string why = testing::skip_reason(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  return testing::test_name(info.param);
}

TEST_P(GpuBackendTest, RunsOnTheGpuAndRecordsWhatRan) {
  const Graph g = load_model("squeezenet1.1", {.resolution = 64});
  const auto on = expect_gpu_matches_reference(g, GetParam(), gpu_options(true));
  EXPECT_EQ(on.settings.value("cuda_graph", ""), "on") << on.settings.dump();
  // "FP32", or "FP32 (...)" with the libraries' math modes (cudnn): the first word is the math.
  EXPECT_EQ(on.settings.value("math", "").substr(0, 4), "FP32") << on.settings.dump();
  EXPECT_FALSE(on.settings.value("gpu", "").empty()) << on.settings.dump();
  EXPECT_GT(on.device_ms, 0.0);
  const auto off = expect_gpu_matches_reference(g, GetParam(), gpu_options(false));
  EXPECT_EQ(off.settings.value("cuda_graph", ""), "off") << off.settings.dump();
  EXPECT_GT(off.device_ms, 0.0);
  EXPECT_EQ(create_backend(GetParam())->device(), DeviceKind::kGpu);
  EXPECT_EQ(backend_device(GetParam()), DeviceKind::kGpu);
}

TEST_P(GpuBackendTest, Tf32IsRecordedAndStaysClose) {
  const Graph g = load_model("mobilenet_v1", {.resolution = 64});
  ExecOptions opts = gpu_options(true);
  opts.allow_tf32 = true;
  // TF32 keeps 10 mantissa bits: a looser bound than FP32's.
  const auto r = expect_gpu_matches_reference(g, GetParam(), opts, nullptr, 2e-2);
  EXPECT_EQ(r.settings.value("math", "").substr(0, 4), "TF32") << r.settings.dump();
}

TEST_P(GpuBackendTest, PerLayerRunMarksEveryLayerAndValidates) {
  const Graph g = load_model("mobilenet_v2", {.batch = 2, .resolution = 64});
  testing::MarkRecorder profiler;
  const auto r = expect_gpu_matches_reference(g, GetParam(), gpu_options(true), &profiler);
  EXPECT_EQ(profiler.marks.size(), 2 * g.layers.size());
  EXPECT_GT(r.device_ms, 0.0);
}

// The GPU backend as the fallback of a CPU library: the layer the library declines runs on the
// GPU, reading a value computed on the CPU and writing one read by two CPU layers.
TEST_P(GpuBackendTest, GpuSegmentBetweenCpuSegments) {
  std::string cpu;
  for (const std::string name : {"xnnpack", "onednn"}) {
    if (testing::skip_reason(name).empty()) cpu = name;
  }
  if (cpu.empty()) GTEST_SKIP() << "no CPU library backend (xnnpack, onednn) available here";
  // XNNPACK declines a 1x1 pooling with a stride; oneDNN an average pooling counting the padding
  // where Caffe's last window starts in it.
  GraphBuilder b("split", {2, 6, 12, 12}, 606);
  ValueId x = b.relu(b.conv(b.input(), "conv1", 16, 3, 1, 1), "relu1");
  ValueId odd = cpu == "xnnpack" ? b.max_pool(x, "odd_pool", 1, 2, 0, false)
                                 : b.avg_pool(x, "odd_pool", 3, 2, 1, true, true);
  ValueId z = b.concat({b.conv(odd, "conv2", 8, 1, 1, 0), b.conv(odd, "conv3", 5, 3, 1, 1)}, "cat");
  Graph g = b.finish({b.softmax(b.fully_connected(b.flatten(z, "flat"), "fc", 10), "prob")});
  optimize_for_inference(g);

  auto primary = create_backend(cpu);
  auto gpu = create_backend(GetParam());
  Engine engine(g, *primary, gpu.get(), ExecOptions{1});
  ASSERT_EQ(engine.segment_count(), 3);
  const Tensor input = make_input(g, 11);
  engine.set_input(input);
  engine.run();
  EXPECT_GT(engine.last_device_ms(), 0.0);
  const std::vector<Tensor> want = testing::run_graph(g, "reference", input);
  const double err = relative_l2_error(engine.output_tensor(0).span(), want[0].span());
  EXPECT_LE(err, testing::kFloatTolerance);
}

// A batch whose activations cannot fit: a clear error when the engine is built, and the GPU still
// works afterwards.
TEST_P(GpuBackendTest, OutOfGpuMemoryIsAClearError) {
  GraphBuilder b("huge", {1, 3, 1024, 1024}, 909);
  Graph g = b.finish({b.conv(b.input(), "conv", 64, 3, 1, 1)});
  g.set_batch(1000);  // 256 GB of output
  auto backend = create_backend(GetParam());
  try {
    Engine engine(g, *backend, nullptr, gpu_options(true));
    ADD_FAILURE() << "a " << g.shape(g.outputs[0]).str() << " output fit on the GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
  }
  GraphBuilder small("after", {1, 4, 5, 5}, 808);
  expect_gpu_matches_reference(small.finish({small.conv(small.input(), "conv", 3, 3, 1, 1)}),
                               GetParam(), gpu_options(true));
}

INSTANTIATE_TEST_SUITE_P(Gpu, GpuBackendTest,
                         ::testing::ValuesIn(testing::gpu_backend_names()), param_name);

// Whole-model validation: each zoo model at batch 1 and 3, CUDA graph on.
using ModelParam = std::tuple<std::string, std::string>;  // backend, model

class GpuModelTest : public ::testing::TestWithParam<ModelParam> {
 protected:
  void SetUp() override {
    const std::string why = testing::skip_reason(std::get<0>(GetParam()));
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_P(GpuModelTest, ValidatesAtBatch1And3) {
  const auto& [backend, model] = GetParam();
  for (int batch : {1, 3}) {
    SCOPED_TRACE(model + " at batch " + std::to_string(batch));
    const Graph g = load_model(model, {.batch = batch, .resolution = kModelResolution});
    expect_gpu_matches_reference(g, backend, gpu_options(true));
  }
}

std::vector<ModelParam> model_params() {
  std::vector<ModelParam> out;
  for (const std::string& backend : testing::gpu_backend_names()) {
    for (const ModelInfo& m : list_models()) out.emplace_back(backend, m.name);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Zoo, GpuModelTest, ::testing::ValuesIn(model_params()),
                         [](const ::testing::TestParamInfo<ModelParam>& info) {
                           return testing::test_name(std::get<0>(info.param) + "_" +
                                                     std::get<1>(info.param));
                         });

// Without a GPU the plugin is still listed, unavailable with the reason, and refuses to be created
// with that reason; with one it is available.
TEST(GpuBackendListing, UnavailableWithTheReasonWithoutAGpu) {
  const std::vector<BackendInfo> all = list_backends();
  const BackendInfo* info = nullptr;
  for (const BackendInfo& b : all) {
    if (b.name == "gemm:cublas") info = &b;
  }
  bool loaded = false, failed = false;
  for (const BackendFactory& f : plugins().registry.backends) loaded = loaded || f.name == "gemm:cublas";
  for (const PluginLoadFailure& f : plugins().failed) {
    for (const std::string& what : f.provides) failed = failed || what == "backend:gemm:cublas";
  }
  if (!loaded && !failed) {
    GTEST_SKIP() << "the gemm_cublas plugin is not built (no CUDA toolkit at build time)";
  }
  ASSERT_NE(info, nullptr) << "gemm:cublas is not listed";
  // Loaded: the backend says it runs on the GPU, whether or not one is present.
  if (loaded) {
    EXPECT_EQ(backend_device("gemm:cublas"), DeviceKind::kGpu);
  }
  if (info->available) {
    EXPECT_TRUE(info->reason.empty()) << info->reason;
    return;
  }
  EXPECT_FALSE(info->reason.empty());
  try {
    create_backend("gemm:cublas");
    ADD_FAILURE() << "gemm:cublas was created although listed unavailable: " << info->reason;
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(info->reason), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace libscout
