// Models written the way PyTorch's exporter writes them, made here with ONNX's own parser and
// checked with ONNX's checker: each is imported, run on every available backend against the
// reference, and compared with the same network built by hand with the graph builder (an
// independent path to the same numbers).
#include <gtest/gtest.h>

#include "core/passes.h"
#include "onnx/sha256.h"
#include "support/backend_check.h"
#include "tests/onnx/onnx_models.h"

namespace libscout {
namespace {

using testing::fill_seeded;
using testing::import_model;
using testing::parse_model;

std::vector<std::string> op_names(const Graph& g) {
  std::vector<std::string> ops;
  for (const Layer& l : g.layers) ops.push_back(op_name(l.op));
  return ops;
}

Layer& layer_named(Graph& g, const std::string& name) {
  for (Layer& l : g.layers) {
    if (l.name == name) return l;
  }
  throw std::runtime_error("no layer " + name);
}

void set_weights(Layer& l, const std::vector<float>& w, const std::vector<float>& b = {}) {
  ASSERT_EQ(l.weight.size(), w.size()) << l.name;
  std::copy(w.begin(), w.end(), l.weight.data());
  if (!b.empty()) {
    l.bias = Tensor({1, static_cast<int>(b.size()), 1, 1});
    std::copy(b.begin(), b.end(), l.bias.data());
  }
}

BatchNormParams affine(std::vector<float> scale, std::vector<float> shift) {
  BatchNormParams p;
  p.epsilon = 0;
  p.mean.assign(scale.size(), 0.0f);
  p.variance.assign(scale.size(), 1.0f);
  p.gamma = std::move(scale);
  p.beta = std::move(shift);
  return p;
}

// Outputs of `imported` and `twin` on the reference, same input; then `imported` on every
// backend against the reference.
void expect_same_network(const Graph& imported, const Graph& twin, double tolerance = 1e-5) {
  ASSERT_EQ(imported.shape(imported.input), twin.shape(twin.input));
  const Tensor input = make_input(imported, 5);
  const std::vector<Tensor> got = testing::run_graph(imported, "reference", input);
  const std::vector<Tensor> want = testing::run_graph(twin, "reference", input);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape());
    EXPECT_LE(relative_l2_error(got[i].span(), want[i].span()), tolerance)
        << "output " << i << ": " << testing::worst_element(got[i], want[i]);
  }
  for (const std::string& backend : testing::available_backends()) {
    SCOPED_TRACE(backend);
    testing::expect_matches_reference(imported, backend, 1, testing::kFloatTolerance, true);
  }
}

// PyTorch (opset 13) exporting a small MobileNet-like classifier: input normalization by Sub and
// Div, Conv + BatchNormalization + Clip(min, max as inputs), depthwise Conv, MaxPool, the
// x.view(x.size(0), -1) idiom (Shape, Gather, Unsqueeze, Concat, Reshape), Dropout, Gemm with
// transB and Softmax.
const char* kTorchOpset13 = R"(
<ir_version: 7, opset_import: ["" : 13]>
torch_jit (float[batch, 3, 20, 20] input, float[1, 3, 1, 1] mean = {0.485, 0.456, 0.406},
           float[1, 3, 1, 1] std = {0.229, 0.224, 0.225}, float[16, 3, 3, 3] conv1_w,
           float[16] bn1_w, float[16] bn1_b, float[16] bn1_mean,
           float[16] bn1_var, float[16, 1, 3, 3] dw_w, float[16] dw_b,
           float[24, 16, 1, 1] pw_w, float[24] pw_b, float[10, 24] fc_w,
           float[10] fc_b) => (float[batch, 10] output) {
  sub = Sub (input, mean)
  norm = Div (sub, std)
  c1 = Conv <dilations = [1, 1], group = 1, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]> (norm, conv1_w)
  b1 = BatchNormalization <epsilon = 1e-05, momentum = 0.9> (c1, bn1_w, bn1_b, bn1_mean, bn1_var)
  lo = Constant <value = float {0.0}> ()
  hi = Constant <value = float {6.0}> ()
  r1 = Clip (b1, lo, hi)
  d = Conv <group = 16, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [1, 1]> (r1, dw_w, dw_b)
  r2 = Relu (d)
  p = Conv <kernel_shape = [1, 1]> (r2, pw_w, pw_b)
  mp = MaxPool <ceil_mode = 0, kernel_shape = [2, 2], pads = [0, 0, 0, 0], strides = [2, 2]> (p)
  gap = GlobalAveragePool (mp)
  s = Shape (gap)
  i0 = Constant <value = int64 {0}> ()
  n = Gather <axis = 0> (s, i0)
  ax = Constant <value = int64[1] {0}> ()
  nu = Unsqueeze (n, ax)
  m1 = Constant <value = int64[1] {-1}> ()
  shape = Concat <axis = 0> (nu, m1)
  flat = Reshape (gap, shape)
  drop = Dropout (flat)
  fc = Gemm <alpha = 1.0, beta = 1.0, transB = 1> (drop, fc_w, fc_b)
  output = Softmax <axis = 1> (fc)
}
)";

TEST(OnnxImport, PyTorchOpset13ClassifierMatchesTheNetworkBuiltByHand) {
  onnx::ModelProto m = parse_model(kTorchOpset13);
  const auto conv1 = fill_seeded(m, "conv1_w", 1);
  const auto gamma = fill_seeded(m, "bn1_w", 2, 0.5f, 1.5f), beta = fill_seeded(m, "bn1_b", 3);
  const auto mean = fill_seeded(m, "bn1_mean", 4), var = fill_seeded(m, "bn1_var", 5, 0.5f, 1.5f);
  const auto dw = fill_seeded(m, "dw_w", 6), dwb = fill_seeded(m, "dw_b", 7);
  const auto pw = fill_seeded(m, "pw_w", 8), pwb = fill_seeded(m, "pw_b", 9);
  const auto fc = fill_seeded(m, "fc_w", 10), fcb = fill_seeded(m, "fc_b", 11);
  Graph g = import_model(m, {.batch = 2});
  EXPECT_EQ(g.shape(g.input), (Shape{2, 3, 20, 20}));
  optimize_for_inference(g);
  // Batch norm folded, activations fused, the shape arithmetic gone (the reshape to (N, C) of an
  // (N, C, 1, 1) tensor moves nothing).
  EXPECT_EQ(op_names(g), (std::vector<std::string>{"batchnorm", "batchnorm", "conv2d", "conv2d",
                                                   "conv2d", "maxpool", "global_avgpool",
                                                   "fully_connected", "softmax"}));
  EXPECT_EQ(g.values[g.outputs[0]].file_dims, (std::vector<int>{2, 10}));

  GraphBuilder b("twin", {2, 3, 20, 20}, 1);
  ValueId x = b.batch_norm(b.input(), "sub");
  x = b.batch_norm(x, "div");
  x = b.relu6(b.batch_norm(b.conv(x, "c1", 16, 3, 2, 1, 1, false), "b1"), "r1");
  x = b.relu(b.conv(x, "d", 16, 3, 1, 1, 16), "r2");
  x = b.conv(x, "p", 24, 1, 1, 0);
  x = b.flatten(b.global_avg_pool(b.max_pool(x, "mp", 2, 2, 0, false), "gap"), "flat");
  Graph twin = b.finish({b.softmax(b.fully_connected(x, "fc", 10), "output")});
  layer_named(twin, "sub").params = affine({1, 1, 1}, {-0.485f, -0.456f, -0.406f});
  layer_named(twin, "div").params = affine({1 / 0.229f, 1 / 0.224f, 1 / 0.225f}, {0, 0, 0});
  set_weights(layer_named(twin, "c1"), conv1);
  layer_named(twin, "b1").params = BatchNormParams{1e-5f, gamma, beta, mean, var};
  set_weights(layer_named(twin, "d"), dw, dwb);
  set_weights(layer_named(twin, "p"), pw, pwb);
  set_weights(layer_named(twin, "fc"), fc, fcb);
  optimize_for_inference(twin);
  expect_same_network(g, twin);
}

// PyTorch at opset 11: ZeroPad2d (a Pad with its pads as an input) before a Conv, "same"
// padding, a residual Add of a scaled branch, AveragePool with asymmetric "SAME_UPPER" padding
// that does not count the padding, MaxPool with padding, Flatten and MatMul + Add.
const char* kTorchOpset11 = R"(
<ir_version: 6, opset_import: ["" : 11]>
net (float[1, 4, 9, 9] x, float[6, 4, 3, 3] w1, float[6] b1, float[6, 6, 3, 3] w2,
     float[54, 5] fcw, float[5] fcb) => (float[1, 5] y) {
  pads = Constant <value = int64[8] {0, 0, 1, 1, 0, 0, 1, 1}> ()
  xp = Pad <mode = "constant"> (x, pads)
  c1 = Conv <kernel_shape = [3, 3]> (xp, w1, b1)
  r1 = Relu (c1)
  c2 = Conv <kernel_shape = [3, 3], auto_pad = "SAME_UPPER"> (r1, w2)
  half = Constant <value = float {0.5}> ()
  scaled = Mul (c2, half)
  res = Add (r1, scaled)
  ap = AveragePool <kernel_shape = [2, 2], strides = [2, 2], auto_pad = "SAME_UPPER"> (res)
  mp = MaxPool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (ap)
  f = Flatten <axis = 1> (mp)
  mm = MatMul (f, fcw)
  y = Add (mm, fcb)
}
)";

TEST(OnnxImport, PyTorchOpset11PaddingResidualAndMatMulMatchTheNetworkBuiltByHand) {
  onnx::ModelProto m = parse_model(kTorchOpset11);
  const auto w1 = fill_seeded(m, "w1", 1), b1 = fill_seeded(m, "b1", 2), w2 = fill_seeded(m, "w2", 3);
  const auto fcw = fill_seeded(m, "fcw", 4), fcb = fill_seeded(m, "fcb", 5);
  Graph g = import_model(m);
  optimize_for_inference(g);
  // The Pad is the first convolution's padding, the Add of fcb the fully connected layer's bias.
  // The scaling by 0.5 is folded into the second convolution.
  EXPECT_EQ(op_names(g), (std::vector<std::string>{"conv2d", "conv2d", "add", "avgpool", "maxpool",
                                                   "flatten", "fully_connected"}));
  EXPECT_EQ(g.layers[0].conv().pad_top, 1);
  EXPECT_FALSE(g.layers[3].pool().symmetric());
  EXPECT_EQ(g.output_shape(g.layers[3]), (Shape{1, 6, 5, 5}));
  EXPECT_FALSE(g.layers[6].bias.empty());

  GraphBuilder b("twin", {1, 4, 9, 9}, 1);
  ValueId r1 = b.relu(b.conv(b.input(), "c1", 6, 3, 1, 1), "r1");
  ValueId scaled = b.batch_norm(b.conv(r1, "c2", 6, 3, 1, 1, 1, false), "scaled");
  // Built with padding 1 on every side (the same 5x5 output), then made asymmetric below.
  ValueId x = b.avg_pool(b.add(r1, scaled, "res"), "ap", 2, 2, 1, false, false);
  x = b.flatten(b.max_pool(x, "mp", 3, 2, 1, false), "f");
  Graph twin = b.finish({b.fully_connected(x, "fc", 5)});
  set_weights(layer_named(twin, "c1"), w1, b1);
  set_weights(layer_named(twin, "c2"), w2);
  layer_named(twin, "scaled").params = affine(std::vector<float>(6, 0.5f), std::vector<float>(6, 0.0f));
  Pool2dParams& p = std::get<Pool2dParams>(layer_named(twin, "ap").params);
  p.pad_h = p.pad_w = 0;
  p.pad_bottom_if_asymmetric = 1, p.pad_right_if_asymmetric = 1;
  std::vector<float> fc_t(fcw.size());
  for (int i = 0; i < 54; ++i) {
    for (int j = 0; j < 5; ++j) fc_t[j * 54 + i] = fcw[i * 5 + j];
  }
  set_weights(layer_named(twin, "fc"), fc_t, fcb);
  twin.infer_shapes();
  optimize_for_inference(twin);
  expect_same_network(g, twin);
}

// An older exporter (opset 8): Clip with min/max attributes as ReLU6, BatchNormalization with its
// spatial attribute, two branches concatenated along the channels, Dropout with a ratio,
// Flatten, Gemm without transB but with alpha and beta, Softmax of opset 1.
const char* kOpset8 = R"(
<ir_version: 3, opset_import: ["" : 8]>
legacy (float[2, 3, 10, 10] x, float[8, 3, 3, 3] w1, float[8] s, float[8] b, float[8] m, float[8] v,
        float[4, 8, 1, 1] wa, float[4] ba, float[4, 8, 3, 3] wb, float[32, 5] gw, float[5] gb)
    => (float[2, 5] y) {
  c = Conv <kernel_shape = [3, 3], strides = [2, 2]> (x, w1)
  bn = BatchNormalization <epsilon = 0.001, spatial = 1> (c, s, b, m, v)
  r = Clip <min = 0.0, max = 6.0> (bn)
  a = Conv <kernel_shape = [1, 1]> (r, wa, ba)
  bb = Conv <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (r, wb)
  cat = Concat <axis = 1> (a, bb)
  ra = Relu (cat)
  p = AveragePool <kernel_shape = [2, 2], strides = [2, 2]> (ra)
  d = Dropout <ratio = 0.3> (p)
  f = Flatten <axis = 1> (d)
  g = Gemm <alpha = 0.5, beta = 2.0> (f, gw, gb)
  y = Softmax <axis = 1> (g)
}
)";

TEST(OnnxImport, Opset8ClipAttributesConcatAndGemmAlphaBetaMatchTheNetworkBuiltByHand) {
  onnx::ModelProto m = parse_model(kOpset8);
  const auto w1 = fill_seeded(m, "w1", 1), s = fill_seeded(m, "s", 2, 0.5f, 1.5f);
  const auto b = fill_seeded(m, "b", 3), mean = fill_seeded(m, "m", 4), var = fill_seeded(m, "v", 5, 0.5f, 1.5f);
  const auto wa = fill_seeded(m, "wa", 6), ba = fill_seeded(m, "ba", 7), wb = fill_seeded(m, "wb", 8);
  const auto gw = fill_seeded(m, "gw", 9), gb = fill_seeded(m, "gb", 10);
  Graph g = import_model(m);
  optimize_for_inference(g);
  EXPECT_EQ(op_names(g), (std::vector<std::string>{"conv2d", "conv2d", "conv2d", "concat", "relu",
                                                   "avgpool", "flatten", "fully_connected", "softmax"}));
  EXPECT_EQ(g.layers[0].conv().activation, Activation::kRelu6);

  GraphBuilder gb_("twin", {2, 3, 10, 10}, 1);
  ValueId x = gb_.relu6(gb_.batch_norm(gb_.conv(gb_.input(), "c", 8, 3, 2, 0, 1, false), "bn"), "r");
  ValueId cat = gb_.concat({gb_.conv(x, "a", 4, 1, 1, 0), gb_.conv(x, "bb", 4, 3, 1, 1, 1, false)}, "cat");
  x = gb_.flatten(gb_.avg_pool(gb_.relu(cat, "ra"), "p", 2, 2, 0, false, false), "f");
  Graph twin = gb_.finish({gb_.softmax(gb_.fully_connected(x, "g", 5), "y")});
  set_weights(layer_named(twin, "c"), w1);
  layer_named(twin, "bn").params = BatchNormParams{0.001f, s, b, mean, var};
  set_weights(layer_named(twin, "a"), wa, ba);
  set_weights(layer_named(twin, "bb"), wb);
  std::vector<float> fc(gw.size()), bias(gb.size());
  for (int i = 0; i < 32; ++i) {
    for (int j = 0; j < 5; ++j) fc[j * 32 + i] = 0.5f * gw[i * 5 + j];
  }
  for (int j = 0; j < 5; ++j) bias[j] = 2.0f * gb[j];
  set_weights(layer_named(twin, "g"), fc, bias);
  optimize_for_inference(twin);
  expect_same_network(g, twin);
}

// Softmax before opset 13 normalizes the input coerced to 2-D at `axis`; since, along `axis`
// alone. The same (1, 2, 3, 3) input and axis 1 under both.
TEST(OnnxImport, SoftmaxAxisFollowsTheOpset) {
  for (int opset : {11, 13}) {
    const Graph g = import_model(parse_model("<ir_version: 7, opset_import: [\"\" : " + std::to_string(opset) +
                                             R"(]>
softmax (float[1, 2, 3, 3] x) => (float[1, 2, 3, 3] y) {
  y = Softmax <axis = 1> (x)
}
)"));
    const std::vector<Tensor> out = testing::run_graph(g, "reference", make_input(g, 8));
    const Tensor& y = out[0];
    ASSERT_EQ(y.size(), 18u);
    double all = 0;
    for (float v : y.span()) all += v;
    if (opset == 11) {
      EXPECT_NEAR(all, 1.0, 1e-6);  // one distribution over the 18 values
    } else {
      EXPECT_NEAR(all, 9.0, 1e-5);  // one per pixel, over the 2 channels
      for (int px = 0; px < 9; ++px) EXPECT_NEAR(y[px] + y[9 + px], 1.0, 1e-6) << px;
    }
  }
}

TEST(OnnxImport, SymbolicBatchFollowsTheOptionAndInputShapeOverrides) {
  onnx::ModelProto m = parse_model(kTorchOpset13);
  for (const char* w : {"conv1_w", "bn1_w", "bn1_b", "bn1_mean", "bn1_var",
                        "dw_w", "dw_b", "pw_w", "pw_b", "fc_w", "fc_b"}) {
    fill_seeded(m, w, 1, 0.5f, 1.0f);
  }
  EXPECT_EQ(import_model(m, {.batch = 3}).shape(0), (Shape{3, 3, 20, 20}));
  const Graph big = import_model(m, {.input_shape = {1, 3, 32, 24}});
  EXPECT_EQ(big.shape(0), (Shape{1, 3, 32, 24}));
  EXPECT_EQ(big.values[big.outputs[0]].file_dims, (std::vector<int>{1, 10}));
  // A fixed batch refuses another.
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
      ->mutable_dim(0)->set_dim_value(1);
  const std::string bytes = m.SerializeAsString();
  EXPECT_NE(testing::import_error(bytes, {.batch = 4}).find("fixes the batch to 1: --batch 4"),
            std::string::npos);
}

TEST(OnnxImport, ModelFilesLoadThroughLoadModelWithTheirContentHash) {
  onnx::ModelProto m = parse_model(kTorchOpset11);
  for (const char* w : {"w1", "b1", "w2", "fcw", "fcb"}) fill_seeded(m, w, 2);
  testing::TempDir dir;
  const std::string bytes = m.SerializeAsString();
  const std::string path = dir.file("small net.onnx", bytes);
  ASSERT_TRUE(is_model_file(path));
  EXPECT_FALSE(is_model_file("squeezenet1.1"));
  const Graph g = load_model(path);
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  EXPECT_EQ(g.content_sha256, h.hex());
  EXPECT_EQ(g.name, "small net");
  EXPECT_EQ(model_identity(g), "small net-" + g.content_sha256.substr(0, 16));
  // Another weight, another identity.
  fill_seeded(m, "w1", 3);
  const Graph other = load_model(dir.file("small net.onnx", m.SerializeAsString()));
  EXPECT_NE(model_identity(other), model_identity(g));
}

TEST(OnnxImport, ExternalDataNextToTheModelIsReadAndHashed) {
  onnx::ModelProto m = parse_model(kTorchOpset11);
  std::string blob;
  for (const char* w : {"w1", "b1", "w2", "fcw", "fcb"}) {
    fill_seeded(m, w, 4);
    onnx::TensorProto* t = testing::find_initializer(m, w);
    const std::size_t offset = blob.size();
    blob += t->raw_data();
    t->clear_raw_data();
    t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    for (auto [k, v] : {std::pair<std::string, std::string>{"location", "weights.bin"},
                        {"offset", std::to_string(offset)},
                        {"length", std::to_string(blob.size() - offset)}}) {
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
  }
  testing::TempDir dir;
  dir.file("weights.bin", blob);
  const std::string path = dir.file("net.onnx", m.SerializeAsString());
  const Graph g = load_model(path);
  const Tensor input = make_input(g, 3);
  const std::vector<Tensor> got = testing::run_graph(g, "reference", input);
  EXPECT_GT(std::abs(got[0][0]) + std::abs(got[0][1]), 0.0f);
  const std::string before = g.content_sha256;
  dir.file("weights.bin", std::string(blob.rbegin(), blob.rend()));  // other weights, same model file
  EXPECT_NE(load_model(path).content_sha256, before);
  // Without its folder the same bytes cannot reach the data.
  const std::string bytes = m.SerializeAsString();
  EXPECT_NE(testing::import_error(bytes).find("external data 'weights.bin' cannot be read: the model was "
                                              "not loaded from a file"),
            std::string::npos);
}

TEST(OnnxImport, Sha256OfKnownMessages) {
  Sha256 a;
  a.update("abc", 3);
  EXPECT_EQ(a.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 b;
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  b.update(two_blocks.data(), two_blocks.size());
  EXPECT_EQ(b.hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace libscout
