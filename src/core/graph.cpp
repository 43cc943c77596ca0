#include "core/graph.h"

#include <algorithm>

#include "core/error.h"

namespace libscout {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::kConv2d: return "conv2d";
    case OpKind::kRelu: return "relu";
    case OpKind::kRelu6: return "relu6";
    case OpKind::kMaxPool: return "maxpool";
    case OpKind::kAvgPool: return "avgpool";
    case OpKind::kGlobalAvgPool: return "global_avgpool";
    case OpKind::kConcat: return "concat";
    case OpKind::kFullyConnected: return "fully_connected";
    case OpKind::kSoftmax: return "softmax";
    case OpKind::kBatchNorm: return "batchnorm";
    case OpKind::kAdd: return "add";
    case OpKind::kFlatten: return "flatten";
    case OpKind::kReshape: return "reshape";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kRelu6: return "relu6";
  }
  return "?";
}

Activation Layer::activation() const {
  if (auto* p = std::get_if<Conv2dParams>(&params)) return p->activation;
  if (auto* p = std::get_if<FullyConnectedParams>(&params)) return p->activation;
  if (auto* p = std::get_if<AddParams>(&params)) return p->activation;
  return Activation::kNone;
}

int pooled_size(int in, int kernel, int stride, int pad, bool ceil_mode) {
  return pooled_size(in, kernel, stride, pad, pad, ceil_mode);
}

int pooled_size(int in, int kernel, int stride, int pad_begin, int pad_end, bool ceil_mode) {
  int span = in + pad_begin + pad_end - kernel;
  if (span < 0) return 0;
  int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // The last window must start inside the input or its left padding (Caffe and PyTorch).
  if ((pad_begin > 0 || pad_end > 0) && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

namespace {

[[noreturn]] void fail(const Layer& l, const std::string& what) {
  throw Error("layer '" + l.name + "' (" + op_name(l.op) + "): " + what);
}

void expect_inputs(const Layer& l, std::size_t count) {
  if (l.inputs.size() != count) {
    fail(l, "expects " + std::to_string(count) + " input(s), has " +
                std::to_string(l.inputs.size()));
  }
}

}  // namespace

Shape infer_output_shape(const Graph& g, const Layer& l) {
  if (l.inputs.empty()) fail(l, "has no input");
  const Shape in = g.shape(l.inputs[0]);
  switch (l.op) {
    case OpKind::kConv2d: {
      expect_inputs(l, 1);
      const Conv2dParams& p = l.conv();
      if (p.groups < 1 || in.c % p.groups != 0 || p.out_channels % p.groups != 0) {
        fail(l, "groups " + std::to_string(p.groups) + " do not divide channels " +
                    std::to_string(in.c) + " -> " + std::to_string(p.out_channels));
      }
      if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 ||
          p.kernel_h < 1 || p.kernel_w < 1) {
        fail(l, "kernel, stride and dilation must be >= 1");
      }
      Shape ws{p.out_channels, in.c / p.groups, p.kernel_h, p.kernel_w};
      if (l.weight.shape() != ws) {
        fail(l, "weight shape " + l.weight.shape().str() + ", expected " + ws.str());
      }
      int ekh = (p.kernel_h - 1) * p.dilation_h + 1, ekw = (p.kernel_w - 1) * p.dilation_w + 1;
      int oh = (in.h + p.pad_top + p.pad_bottom - ekh) / p.stride_h + 1;
      int ow = (in.w + p.pad_left + p.pad_right - ekw) / p.stride_w + 1;
      if (oh < 1 || ow < 1) fail(l, "input " + in.str() + " is smaller than the kernel");
      return {in.n, p.out_channels, oh, ow};
    }
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: {
      expect_inputs(l, 1);
      const Pool2dParams& p = l.pool();
      if (p.stride_h < 1 || p.stride_w < 1 || p.kernel_h < 1 || p.kernel_w < 1 || p.pad_h < 0 ||
          p.pad_w < 0 || p.pad_bottom() < 0 || p.pad_right() < 0) {
        fail(l, "kernel and stride must be >= 1, padding >= 0");
      }
      int oh = pooled_size(in.h, p.kernel_h, p.stride_h, p.pad_h, p.pad_bottom(), p.ceil_mode);
      int ow = pooled_size(in.w, p.kernel_w, p.stride_w, p.pad_w, p.pad_right(), p.ceil_mode);
      if (oh < 1 || ow < 1) fail(l, "input " + in.str() + " is smaller than the window");
      return {in.n, in.c, oh, ow};
    }
    case OpKind::kGlobalAvgPool:
      expect_inputs(l, 1);
      return {in.n, in.c, 1, 1};
    case OpKind::kConcat: {
      Shape out = in;
      out.c = 0;
      for (ValueId v : l.inputs) {
        const Shape& s = g.shape(v);
        if (s.n != in.n || s.h != in.h || s.w != in.w) {
          fail(l, "inputs " + in.str() + " and " + s.str() + " differ outside the channels");
        }
        out.c += s.c;
      }
      return out;
    }
    case OpKind::kFullyConnected: {
      expect_inputs(l, 1);
      const int features = static_cast<int>(in.image_elements());
      Shape ws{l.fc().out_features, features, 1, 1};
      if (l.weight.shape() != ws) {
        fail(l, "weight shape " + l.weight.shape().str() + ", expected " + ws.str());
      }
      return {in.n, l.fc().out_features, 1, 1};
    }
    case OpKind::kFlatten:
      expect_inputs(l, 1);
      return {in.n, static_cast<int>(in.image_elements()), 1, 1};
    case OpKind::kReshape: {
      expect_inputs(l, 1);
      const ReshapeParams& p = l.reshape();
      const std::size_t image = static_cast<std::size_t>(p.c) * p.h * p.w;
      if (p.c < 1 || p.h < 1 || p.w < 1 || in.elements() % image != 0) {
        fail(l, "cannot reshape " + in.str() + " to (N, " + std::to_string(p.c) + ", " +
                    std::to_string(p.h) + ", " + std::to_string(p.w) + ")");
      }
      return {static_cast<int>(in.elements() / image), p.c, p.h, p.w};
    }
    case OpKind::kAdd: {
      expect_inputs(l, 2);
      if (g.shape(l.inputs[1]) != in) {
        fail(l, "inputs " + in.str() + " and " + g.shape(l.inputs[1]).str() + " differ");
      }
      return in;
    }
    case OpKind::kBatchNorm: {
      expect_inputs(l, 1);
      const BatchNormParams& p = l.batch_norm();
      auto c = static_cast<std::size_t>(in.c);
      if (p.gamma.size() != c || p.beta.size() != c || p.mean.size() != c ||
          p.variance.size() != c) {
        fail(l, "statistics do not have " + std::to_string(c) + " channels");
      }
      return in;
    }
    case OpKind::kRelu:
    case OpKind::kRelu6:
    case OpKind::kSoftmax:
      expect_inputs(l, 1);
      return in;
  }
  fail(l, "unknown op");
}

void Graph::infer_shapes() {
  if (input < 0) throw Error("graph '" + name + "' has no input");
  for (const Layer& l : layers) values.at(l.output).shape = infer_output_shape(*this, l);
}

void Graph::set_batch(int batch) {
  if (batch < 1) throw Error("batch size must be >= 1, got " + std::to_string(batch));
  values.at(input).shape.n = batch;
  infer_shapes();
}

std::vector<std::vector<LayerId>> Graph::consumers() const {
  std::vector<std::vector<LayerId>> out(values.size());
  for (LayerId i = 0; i < static_cast<LayerId>(layers.size()); ++i) {
    for (ValueId v : layers[i].inputs) out[v].push_back(i);
  }
  return out;
}

Graph Graph::clone() const {
  Graph g;
  g.name = name;
  g.values = values;
  g.input = input;
  g.outputs = outputs;
  g.source_path = source_path;
  g.content_sha256 = content_sha256;
  g.layers.reserve(layers.size());
  for (const Layer& l : layers) {
    Layer c;
    c.name = l.name;
    c.op = l.op;
    c.inputs = l.inputs;
    c.output = l.output;
    c.params = l.params;
    c.weight = l.weight.clone();
    c.bias = l.bias.clone();
    g.layers.push_back(std::move(c));
  }
  return g;
}

std::int64_t count_layer_macs(const Graph& g, const Layer& l) {
  if (l.op == OpKind::kConv2d) {
    const Shape& o = g.output_shape(l);
    const Shape& ws = l.weight.shape();
    return static_cast<std::int64_t>(o.elements()) * ws.c * ws.h * ws.w;
  }
  if (l.op == OpKind::kFullyConnected) {
    return static_cast<std::int64_t>(g.output_shape(l).elements()) * l.weight.shape().c;
  }
  return 0;
}

std::int64_t count_macs(const Graph& g) {
  std::int64_t total = 0;
  for (const Layer& l : g.layers) total += count_layer_macs(g, l);
  return total;
}

std::int64_t count_parameters(const Graph& g) {
  std::int64_t total = 0;
  for (const Layer& l : g.layers) {
    if (l.op == OpKind::kConv2d || l.op == OpKind::kFullyConnected) {
      total += static_cast<std::int64_t>(l.weight.size() + l.bias.size());
    }
  }
  return total;
}

}  // namespace libscout
