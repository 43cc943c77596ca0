#include "models/graph_builder.h"

#include <cmath>

#include "core/error.h"

namespace libscout {

std::uint64_t SeededRandom::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

float SeededRandom::uniform(float lo, float hi) {
  const float unit = static_cast<float>(next() >> 40) * 0x1.0p-24f;  // 24 random bits in [0, 1)
  return lo + (hi - lo) * unit;
}

void fill_uniform(Tensor& t, std::uint64_t seed, const std::string& name, float lo, float hi) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the name, mixed with the seed
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  SeededRandom rng(h ^ (seed * 0x9e3779b97f4a7c15ULL));
  for (float& v : t.span()) v = rng.uniform(lo, hi);
}

GraphBuilder::GraphBuilder(std::string name, Shape input, std::uint64_t seed) : seed_(seed) {
  graph_.name = std::move(name);
  graph_.values.push_back({"input", input, {}});
  graph_.input = 0;
}

ValueId GraphBuilder::append(Layer layer) {
  const ValueId out = static_cast<ValueId>(graph_.values.size());
  graph_.values.push_back({layer.name, {}, {}});
  layer.output = out;
  graph_.values[out].shape = infer_output_shape(graph_, layer);
  graph_.layers.push_back(std::move(layer));
  return out;
}

ValueId GraphBuilder::conv(ValueId x, const std::string& name, int out_channels, int kernel,
                           int stride, int pad, int groups, bool bias) {
  Conv2dParams p;
  p.out_channels = out_channels;
  p.kernel_h = p.kernel_w = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.groups = groups;
  return conv(x, name, p, bias);
}

ValueId GraphBuilder::conv(ValueId x, const std::string& name, const Conv2dParams& p, bool bias) {
  const int cin = shape(x).c;
  if (p.groups < 1 || cin % p.groups != 0) {
    throw Error("layer '" + name + "': groups do not divide the input channels");
  }
  Layer l;
  l.name = name;
  l.op = OpKind::kConv2d;
  l.inputs = {x};
  l.params = p;
  l.weight = Tensor({p.out_channels, cin / p.groups, p.kernel_h, p.kernel_w});
  const float fan_in = static_cast<float>(l.weight.shape().image_elements());
  const float bound = std::sqrt(6.0f / fan_in);
  fill_uniform(l.weight, seed_, name + ".weight", -bound, bound);
  if (bias) {
    l.bias = Tensor({1, p.out_channels, 1, 1});
    fill_uniform(l.bias, seed_, name + ".bias", -0.05f, 0.05f);
  }
  return append(std::move(l));
}

ValueId GraphBuilder::batch_norm(ValueId x, const std::string& name) {
  const int c = shape(x).c;
  BatchNormParams p;
  auto fill = [&](std::vector<float>& v, const char* what, float lo, float hi) {
    Tensor t({1, c, 1, 1});
    fill_uniform(t, seed_, name + what, lo, hi);
    v.assign(t.data(), t.data() + c);
  };
  fill(p.gamma, ".gamma", 0.5f, 1.5f);
  fill(p.beta, ".beta", -0.1f, 0.1f);
  fill(p.mean, ".mean", -0.1f, 0.1f);
  fill(p.variance, ".variance", 0.5f, 1.5f);
  Layer l;
  l.name = name;
  l.op = OpKind::kBatchNorm;
  l.inputs = {x};
  l.params = std::move(p);
  return append(std::move(l));
}

namespace {

Layer simple(const std::string& name, OpKind op, std::vector<ValueId> inputs) {
  Layer l;
  l.name = name;
  l.op = op;
  l.inputs = std::move(inputs);
  return l;
}

}  // namespace

ValueId GraphBuilder::relu(ValueId x, const std::string& name) {
  return append(simple(name, OpKind::kRelu, {x}));
}

ValueId GraphBuilder::relu6(ValueId x, const std::string& name) {
  return append(simple(name, OpKind::kRelu6, {x}));
}

ValueId GraphBuilder::max_pool(ValueId x, const std::string& name, int kernel, int stride,
                               int pad, bool ceil_mode) {
  Layer l = simple(name, OpKind::kMaxPool, {x});
  l.params = Pool2dParams{kernel, kernel, stride, stride, pad, pad, ceil_mode, true, {}, {}};
  return append(std::move(l));
}

ValueId GraphBuilder::avg_pool(ValueId x, const std::string& name, int kernel, int stride,
                               int pad, bool ceil_mode, bool count_include_pad) {
  Layer l = simple(name, OpKind::kAvgPool, {x});
  l.params =
      Pool2dParams{kernel, kernel, stride, stride, pad, pad, ceil_mode, count_include_pad, {}, {}};
  return append(std::move(l));
}

ValueId GraphBuilder::global_avg_pool(ValueId x, const std::string& name) {
  return append(simple(name, OpKind::kGlobalAvgPool, {x}));
}

ValueId GraphBuilder::concat(const std::vector<ValueId>& xs, const std::string& name) {
  return append(simple(name, OpKind::kConcat, xs));
}

ValueId GraphBuilder::fully_connected(ValueId x, const std::string& name, int out_features) {
  Layer l = simple(name, OpKind::kFullyConnected, {x});
  l.params = FullyConnectedParams{out_features, Activation::kNone};
  const int in_features = static_cast<int>(shape(x).image_elements());
  l.weight = Tensor({out_features, in_features, 1, 1});
  const float bound = std::sqrt(3.0f / static_cast<float>(in_features));
  fill_uniform(l.weight, seed_, name + ".weight", -bound, bound);
  l.bias = Tensor({1, out_features, 1, 1});
  fill_uniform(l.bias, seed_, name + ".bias", -0.05f, 0.05f);
  return append(std::move(l));
}

ValueId GraphBuilder::softmax(ValueId x, const std::string& name) {
  return append(simple(name, OpKind::kSoftmax, {x}));
}

ValueId GraphBuilder::add(ValueId a, ValueId b, const std::string& name) {
  Layer l = simple(name, OpKind::kAdd, {a, b});
  l.params = AddParams{};
  return append(std::move(l));
}

ValueId GraphBuilder::flatten(ValueId x, const std::string& name) {
  return append(simple(name, OpKind::kFlatten, {x}));
}

Graph GraphBuilder::finish(std::vector<ValueId> outputs) {
  graph_.outputs = std::move(outputs);
  return std::move(graph_);
}

}  // namespace libscout
