// Round trip: every zoo model exported as ONNX (accepted by ONNX's own checker), imported again
// and given the load passes is the same network: same layers, and the same outputs as the zoo's
// graph on every available backend.
#include <gtest/gtest.h>

#include <set>

#include "core/passes.h"
#include "onnx/onnx_export.h"
#include "support/backend_check.h"
#include "tests/onnx/onnx_models.h"

namespace libscout {
namespace {

#ifdef LIBSCOUT_EMULATED
constexpr int kResolution = 32;  // every model on every backend, under qemu-user: the smallest input
#else
constexpr int kResolution = 96;
#endif

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const ModelInfo& m : list_models()) names.push_back(m.name);
  return names;
}

// Every backend. Under qemu-user, where a model's round trip costs seconds, those whose ARM code is
// their own: native (NEON kernels), xnnpack and armcl-neon (ARM only); every backend runs every
// zoo model there in tests/backends_nn, and the imported layers and weights are compared exactly.
std::vector<std::string> backends() {
#ifdef LIBSCOUT_EMULATED
  const std::set<std::string> emulated = {"native", "xnnpack", "armcl-neon"};
  std::vector<std::string> b;
#else
  std::vector<std::string> b = {"reference"};
#endif
  for (const std::string& name : testing::available_backends()) {
#ifdef LIBSCOUT_EMULATED
    if (!emulated.count(name)) continue;
#endif
    b.push_back(name);
  }
  return b;
}

Graph round_trip(const Graph& g, int batch = 1) {
  const std::string bytes = export_onnx_bytes(g);
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  onnx::checker::check_model(m);
  Graph back = import_onnx_bytes(bytes.data(), bytes.size(), {.batch = batch}, g.name);
  optimize_for_inference(back);
  return back;
}

// The layers that compute: a flatten of an (N, C, 1, 1) tensor moves nothing (the importer emits
// none for it).
std::vector<const Layer*> computing_layers(const Graph& g) {
  std::vector<const Layer*> out;
  for (const Layer& l : g.layers) {
    if (l.op == OpKind::kFlatten && g.input_shape(l) == g.output_shape(l)) continue;
    out.push_back(&l);
  }
  return out;
}

void expect_same_layers(const Graph& a, const Graph& b) {
  const std::vector<const Layer*> la = computing_layers(a), lb = computing_layers(b);
  ASSERT_EQ(la.size(), lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) {
    const Layer &x = *la[i], &y = *lb[i];
    EXPECT_EQ(x.op, y.op) << i;
    EXPECT_EQ(x.activation(), y.activation()) << x.name;
    EXPECT_EQ(a.output_shape(x), b.output_shape(y)) << x.name;
    ASSERT_EQ(x.weight.size(), y.weight.size()) << x.name;
    for (std::size_t k = 0; k < x.weight.size(); ++k) ASSERT_EQ(x.weight[k], y.weight[k]) << x.name;
  }
}

class ZooRoundTrip : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ZooRoundTrip, ExportedThenImportedGivesTheSameOutputs) {
  const auto& [model, backend] = GetParam();
  const ModelOptions o{.resolution = kResolution};
  const Graph zoo = load_model(model, o);
  const Graph back = round_trip(build_model(model, o));
  expect_same_layers(back, zoo);
  const Tensor input = make_input(zoo, 21);
  // One backend instance for both: the native backend times its algorithms per layer shape in
  // prepare, and two instances can pick different ones for a near tie (MobileNet v2: 1-2.4e-5
  // apart, the GEMM and the transposed GEMM summing in different orders).
  const auto instance = create_backend(backend);
  const std::vector<Tensor> want = testing::run_graph(zoo, *instance, input, 1, true);
  const std::vector<Tensor> got = testing::run_graph(back, *instance, input, 1, true);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].shape(), want[i].shape());
    // The layers and weights are the same bit for bit (above); what remains is the library's
    // own run-to-run variation (oneDNN on an AVX-512 Xeon: 1.4e-6 for mobilenet_v2, as its
    // kernels' reduction order can depend on buffer alignment). Any imported difference in a
    // weight or an attribute is orders of magnitude above this bound.
    EXPECT_LE(relative_l2_error(got[i].span(), want[i].span()), 1e-5)
        << model << " on " << backend << ", output " << i << ": " << testing::worst_element(got[i], want[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(zoo_names()), ::testing::ValuesIn(backends())),
                         [](const auto& info) {
                           return testing::test_name(std::get<0>(info.param) + "_on_" + std::get<1>(info.param));
                         });

TEST(OnnxExport, SymbolicBatchAndFusedGraphsRoundTrip) {
  // The batch is symbolic in the file: imported at batch 3 it matches the zoo at batch 3.
  const Graph zoo3 = load_model("squeezenet1.1", {.batch = 3, .resolution = 64});
  const Graph back3 = round_trip(build_model("squeezenet1.1", {.resolution = 64}), 3);
  EXPECT_EQ(back3.shape(back3.input), zoo3.shape(zoo3.input));
  // A graph after the load passes (activations fused into convolutions) exports as well.
  const Graph fused = load_model("mobilenet_v2", {.resolution = 64, .width = 0.5f});
  const Graph back = round_trip(fused);
  expect_same_layers(back, fused);
  const Tensor input = make_input(fused, 4);
  const auto want = testing::run_graph(fused, "reference", input);
  const auto got = testing::run_graph(back, "reference", input);
  EXPECT_LE(relative_l2_error(got[1].span(), want[1].span()), 1e-6);
}

TEST(OnnxExport, WritesTheFileItSays) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "sq.onnx").string();
  const Graph g = build_model("squeezenet1.1", {.classes = 10});
  export_onnx_file(g, path);
  onnx::checker::check_model(path);
  const Graph back = import_onnx_file(path);
  EXPECT_EQ(back.name, "sq");
  EXPECT_EQ(back.values[back.outputs[0]].file_dims, (std::vector<int>{1, 10}));
  EXPECT_EQ(count_parameters(back), count_parameters(g));
  EXPECT_THROW(export_onnx_file(g, (dir.path() / "missing" / "x.onnx").string()), Error);
}

}  // namespace
}  // namespace libscout
