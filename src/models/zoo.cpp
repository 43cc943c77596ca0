#include "models/zoo.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/passes.h"
#include "models/graph_builder.h"
#include "onnx/onnx_import.h"

namespace libscout {

namespace {

// The classifier head shared by every model: logits (N, classes) and their softmax.
Graph finish_classifier(GraphBuilder& b, ValueId logits) {
  ValueId prob = b.softmax(logits, "prob");
  return b.finish({logits, prob});
}

// SqueezeNet's fire module: squeeze 1x1, then expand 1x1 and 3x3 concatenated.
ValueId fire(GraphBuilder& b, ValueId x, const std::string& name, int squeeze, int expand) {
  ValueId s = b.relu(b.conv(x, name + ".squeeze", squeeze, 1, 1, 0), name + ".squeeze_relu");
  ValueId e1 = b.relu(b.conv(s, name + ".expand1x1", expand, 1, 1, 0), name + ".expand1x1_relu");
  ValueId e3 = b.relu(b.conv(s, name + ".expand3x3", expand, 3, 1, 1), name + ".expand3x3_relu");
  return b.concat({e1, e3}, name + ".concat");
}

ValueId squeezenet_head(GraphBuilder& b, ValueId x, int classes) {
  x = b.relu(b.conv(x, "conv10", classes, 1, 1, 0), "relu10");
  return b.flatten(b.global_avg_pool(x, "pool10"), "logits");
}

Graph squeezenet_v10(const ModelOptions& o, Shape in) {
  GraphBuilder b("squeezenet1.0", in, o.seed);
  ValueId x = b.relu(b.conv(b.input(), "conv1", 96, 7, 2, 0), "relu1");
  x = b.max_pool(x, "pool1", 3, 2);
  x = fire(b, x, "fire2", 16, 64);
  x = fire(b, x, "fire3", 16, 64);
  x = fire(b, x, "fire4", 32, 128);
  x = b.max_pool(x, "pool4", 3, 2);
  x = fire(b, x, "fire5", 32, 128);
  x = fire(b, x, "fire6", 48, 192);
  x = fire(b, x, "fire7", 48, 192);
  x = fire(b, x, "fire8", 64, 256);
  x = b.max_pool(x, "pool8", 3, 2);
  x = fire(b, x, "fire9", 64, 256);
  return finish_classifier(b, squeezenet_head(b, x, o.classes));
}

Graph squeezenet_v11(const ModelOptions& o, Shape in) {
  GraphBuilder b("squeezenet1.1", in, o.seed);
  ValueId x = b.relu(b.conv(b.input(), "conv1", 64, 3, 2, 0), "relu1");
  x = b.max_pool(x, "pool1", 3, 2);
  x = fire(b, x, "fire2", 16, 64);
  x = fire(b, x, "fire3", 16, 64);
  x = b.max_pool(x, "pool3", 3, 2);
  x = fire(b, x, "fire4", 32, 128);
  x = fire(b, x, "fire5", 32, 128);
  x = b.max_pool(x, "pool5", 3, 2);
  x = fire(b, x, "fire6", 48, 192);
  x = fire(b, x, "fire7", 48, 192);
  x = fire(b, x, "fire8", 64, 256);
  x = fire(b, x, "fire9", 64, 256);
  return finish_classifier(b, squeezenet_head(b, x, o.classes));
}

// Convolution without bias, batch norm, then ReLU6 or nothing.
ValueId conv_bn(GraphBuilder& b, ValueId x, const std::string& name, int out, int kernel,
                int stride, int groups, bool relu6) {
  x = b.batch_norm(b.conv(x, name, out, kernel, stride, kernel / 2, groups, false), name + ".bn");
  return relu6 ? b.relu6(x, name + ".relu6") : x;
}

Graph mobilenet_v1(const ModelOptions& o, Shape in) {
  // TF-slim's rule for the width multiplier: max(8, int(channels * width)).
  auto ch = [&](int c) { return std::max(8, static_cast<int>(c * o.width)); };
  GraphBuilder b("mobilenet_v1", in, o.seed);
  ValueId x = conv_bn(b, b.input(), "conv0", ch(32), 3, 2, 1, true);
  const int blocks[][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}, {512, 1},
                           {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  int i = 1;
  for (const auto& [out, stride] : blocks) {
    const std::string n = "block" + std::to_string(i++);
    const int c = b.shape(x).c;
    x = conv_bn(b, x, n + ".dw", c, 3, stride, c, true);
    x = conv_bn(b, x, n + ".pw", ch(out), 1, 1, 1, true);
  }
  x = b.flatten(b.global_avg_pool(x, "pool"), "flatten");
  return finish_classifier(b, b.fully_connected(x, "fc", o.classes));
}

// torchvision's _make_divisible: round to a multiple of 8, never down by more than 10%.
int make_divisible(float v, int divisor = 8) {
  int r = std::max(divisor, static_cast<int>(v + divisor / 2.0f) / divisor * divisor);
  if (r < 0.9f * v) r += divisor;
  return r;
}

Graph mobilenet_v2(const ModelOptions& o, Shape in) {
  GraphBuilder b("mobilenet_v2", in, o.seed);
  ValueId x = conv_bn(b, b.input(), "conv0", make_divisible(32 * o.width), 3, 2, 1, true);
  const int settings[][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                             {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  int i = 1;
  for (const auto& [t, c, n, s] : settings) {
    const int out = make_divisible(c * o.width);
    for (int r = 0; r < n; ++r) {
      const std::string name = "block" + std::to_string(i++);
      const int stride = r == 0 ? s : 1;
      const int cin = b.shape(x).c;
      ValueId y = x;
      if (t != 1) y = conv_bn(b, y, name + ".expand", cin * t, 1, 1, 1, true);
      const int hidden = b.shape(y).c;
      y = conv_bn(b, y, name + ".dw", hidden, 3, stride, hidden, true);
      y = conv_bn(b, y, name + ".project", out, 1, 1, 1, false);
      x = (stride == 1 && cin == out) ? b.add(x, y, name + ".add") : y;
    }
  }
  x = conv_bn(b, x, "conv_last", make_divisible(1280 * std::max(1.0f, o.width)), 1, 1, 1, true);
  x = b.flatten(b.global_avg_pool(x, "pool"), "flatten");
  return finish_classifier(b, b.fully_connected(x, "fc", o.classes));
}

Graph resnet18(const ModelOptions& o, Shape in) {
  GraphBuilder b("resnet18", in, o.seed);
  auto conv_bn_relu = [&](ValueId x, const std::string& n, int out, int k, int s, bool relu) {
    x = b.batch_norm(b.conv(x, n, out, k, s, k / 2, 1, false), n + ".bn");
    return relu ? b.relu(x, n + ".relu") : x;
  };
  ValueId x = conv_bn_relu(b.input(), "conv1", 64, 7, 2, true);
  x = b.max_pool(x, "maxpool", 3, 2, 1, /*ceil_mode=*/false);
  const int planes[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string n = "layer" + std::to_string(stage + 1) + "." + std::to_string(blk);
      const int stride = (stage > 0 && blk == 0) ? 2 : 1;
      ValueId y = conv_bn_relu(x, n + ".conv1", planes[stage], 3, stride, true);
      y = conv_bn_relu(y, n + ".conv2", planes[stage], 3, 1, false);
      ValueId shortcut = x;
      if (stride != 1 || b.shape(x).c != planes[stage]) {
        shortcut = conv_bn_relu(x, n + ".downsample", planes[stage], 1, stride, false);
      }
      x = b.relu(b.add(y, shortcut, n + ".add"), n + ".relu");
    }
  }
  x = b.flatten(b.global_avg_pool(x, "avgpool"), "flatten");
  return finish_classifier(b, b.fully_connected(x, "fc", o.classes));
}

struct ZooEntry {
  ModelInfo info;
  std::function<Graph(const ModelOptions&, Shape)> build;
};

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = {
      {{"squeezenet1.1", "SqueezeNet v1.1 (the paper's Sq): 349M MACs, 1.24M parameters", false},
       squeezenet_v11},
      {{"mobilenet_v1", "MobileNet v1 (the paper's Mo), ReLU6: 569M MACs at width 1.0, 224", true},
       mobilenet_v1},
      {{"squeezenet1.0", "SqueezeNet v1.0: 819M MACs", false}, squeezenet_v10},
      {{"mobilenet_v2", "MobileNet v2 (inverted residuals): 301M MACs at width 1.0, 224", true},
       mobilenet_v2},
      {{"resnet18", "ResNet-18: 1.81G MACs", false}, resnet18},
  };
  return entries;
}

}  // namespace

std::vector<ModelInfo> list_models() {
  std::vector<ModelInfo> out;
  for (const ZooEntry& e : zoo()) out.push_back(e.info);
  return out;
}

bool is_model_file(const std::string& model) {
  const std::string ext = ".onnx";
  const bool onnx_ext = model.size() > ext.size() &&
                        std::equal(ext.rbegin(), ext.rend(), model.rbegin(), [](char a, char b) {
                          return a == std::tolower(static_cast<unsigned char>(b));
                        });
  return onnx_ext || model.find('/') != std::string::npos;
}

std::vector<int> parse_input_shape(const std::string& text) {
  std::vector<int> dims;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = text.find_first_of(",x", pos);
    const std::string part = text.substr(pos, end == std::string::npos ? end : end - pos);
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(part) < 1) {
      throw Error("input shape '" + text + "': expected positive integers separated by ',' or 'x' "
                  "(e.g. 1,3,224,224)");
    }
    dims.push_back(std::stoi(part));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (dims.size() > 4) throw Error("input shape '" + text + "' has more than 4 dimensions");
  return dims;
}

std::string model_identity(const Graph& g) {
  if (g.content_sha256.empty()) return g.name;
  return g.name + "-" + g.content_sha256.substr(0, 16);
}

namespace {

Graph import_model_file(const std::string& path, const ModelOptions& opts) {
  if (opts.width != 1.0f) throw Error("model file '" + path + "' has no width multiplier");
  OnnxImportOptions o;
  o.batch = opts.batch;
  o.resolution = opts.resolution;
  o.input_shape = opts.input_shape;
  o.memory_limit = opts.memory_limit;
  return import_onnx_file(path, o);
}

}  // namespace

Graph build_model(const std::string& name, const ModelOptions& opts_in) {
  if (is_model_file(name)) return import_model_file(name, opts_in);
  ModelOptions opts = opts_in;
  if (!opts.input_shape.empty()) {
    const std::vector<int>& s = opts.input_shape;
    if (s.size() != 4 || s[1] != 3 || s[2] != s[3]) {
      throw Error("model '" + name + "' takes inputs of shape (N, 3, R, R): --input-shape sets "
                  "its batch N and resolution R");
    }
    opts.batch = s[0];
    opts.resolution = s[2];
  }
  if (opts.batch < 1) throw Error("batch size must be >= 1, got " + std::to_string(opts.batch));
  if (opts.resolution < 32 || opts.resolution > 4096) {
    throw Error("input resolution must be in [32, 4096], got " + std::to_string(opts.resolution));
  }
  if (!(opts.width > 0.0f && opts.width <= 4.0f)) {
    throw Error("width multiplier must be in (0, 4], got " + std::to_string(opts.width));
  }
  if (opts.classes < 1) throw Error("class count must be >= 1");
  for (const ZooEntry& e : zoo()) {
    if (e.info.name != name) continue;
    if (opts.width != 1.0f && !e.info.has_width) {
      throw Error("model '" + name + "' has no width multiplier");
    }
    return e.build(opts, Shape{opts.batch, 3, opts.resolution, opts.resolution});
  }
  std::string known;
  for (const ZooEntry& e : zoo()) known += (known.empty() ? "" : ", ") + e.info.name;
  throw Error("unknown model '" + name + "' (known: " + known + "; a model file is named by its "
              "path, ending in .onnx or holding a '/')");
}

Graph load_model(const std::string& name, const ModelOptions& opts) {
  Graph g = build_model(name, opts);
  optimize_for_inference(g);
  return g;
}

Tensor make_input(const Graph& g, std::uint64_t seed) {
  Tensor t(g.shape(g.input));
  fill_uniform(t, seed, "input", -1.0f, 1.0f);
  return t;
}

}  // namespace libscout
