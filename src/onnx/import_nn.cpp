// Converters of the network layers: Conv, MaxPool, AveragePool, GlobalAveragePool,
// BatchNormalization, Relu, Clip, Softmax, Gemm and MatMul.
#include <cmath>
#include <limits>
#include <sstream>

#include "onnx/import_context.h"

namespace libscout::onnx_import {

namespace {

constexpr std::int64_t kMaxParam = 1 << 24;   // kernel, stride, dilation, padding
constexpr std::int64_t kMaxExtent = 1 << 30;  // padded input and kernel extent, in elements

// Per-axis integer attribute of the spatial axes, `fallback` when absent.
std::vector<int> spatial_ints(const NodeContext& ctx, const std::string& name, std::size_t n,
                              int fallback, std::int64_t lo) {
  const std::optional<Dims> given = ctx.attr_ints(name);
  if (!given) return std::vector<int>(n, fallback);
  if (given->size() != n) {
    ctx.fail("attribute '" + name + "' has " + std::to_string(given->size()) + " values, the " +
             std::to_string(n) + "-D operation needs " + std::to_string(n));
  }
  std::vector<int> out;
  for (std::int64_t v : *given) out.push_back(ctx.checked_int(v, "attribute '" + name + "'", lo, kMaxParam));
  return out;
}

struct Window {
  std::vector<int> kernel, stride, dilation, begin, end;
};

// Padding from auto_pad or pads, for input extents `in` (as the file states them).
void resolve_pads(const NodeContext& ctx, const Dims& in, Window& w) {
  const std::size_t n = in.size();
  const std::string mode = ctx.attr_string("auto_pad", "NOTSET");
  w.begin.assign(n, 0);
  w.end.assign(n, 0);
  if (mode == "NOTSET") {
    const std::vector<int> pads = spatial_ints(ctx, "pads", 2 * n, 0, 0);
    for (std::size_t i = 0; i < n; ++i) w.begin[i] = pads[i], w.end[i] = pads[i + n];
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t out = (in[i] + w.stride[i] - 1) / w.stride[i];
      const std::int64_t extent = std::int64_t(w.kernel[i] - 1) * w.dilation[i] + 1;
      if (extent > kMaxExtent) ctx.fail("the window's extent " + std::to_string(extent) + " is too large");
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * w.stride[i] + extent - in[i]);
      const int small = static_cast<int>(total / 2), large = static_cast<int>(total - total / 2);
      w.begin[i] = mode == "SAME_UPPER" ? small : large;
      w.end[i] = mode == "SAME_UPPER" ? large : small;
    }
  } else if (mode != "VALID") {
    ctx.fail("attribute 'auto_pad' is '" + mode + "', not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
}

// Adds a pending zero Pad (folded here) and checks that every window fits the padded input.
void finish_window(const NodeContext& ctx, const Runtime& x, Window& w) {
  const std::size_t n = w.kernel.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (x.pad) w.begin[i] += x.pad->begin[i], w.end[i] += x.pad->end[i];
    const std::int64_t unpadded = x.dims[2 + i] - (x.pad ? x.pad->begin[i] + x.pad->end[i] : 0);
    const std::int64_t padded = unpadded + w.begin[i] + w.end[i];
    const std::int64_t extent = std::int64_t(w.kernel[i] - 1) * w.dilation[i] + 1;
    if (padded > kMaxExtent || extent > padded) {
      ctx.fail("the window (extent " + std::to_string(extent) + ") does not fit the padded input (" +
               std::to_string(padded) + ") along spatial axis " + std::to_string(i));
    }
  }
}

const Runtime& spatial_input(const NodeContext& ctx) {
  const Runtime& x = ctx.runtime_maybe_padded(0);
  if (x.dims.size() != 3 && x.dims.size() != 4) {
    ctx.unsupported("a rank-" + std::to_string(x.dims.size()) + " input (1-D and 2-D " + ctx.op() +
                    " are imported, on (N, C, L) and (N, C, H, W) tensors)");
  }
  return x;
}

void convert_conv(NodeContext& ctx) {
  ctx.expect_inputs(2, 3);
  const Runtime& x = spatial_input(ctx);
  const std::size_t n = x.dims.size() - 2;
  const Constant& w = ctx.constant(1);
  if (w.type != DType::kFloat || w.dims.size() != x.dims.size()) {
    ctx.fail("weight '" + ctx.node().input(1) + "' must be a float tensor of rank " +
             std::to_string(x.dims.size()) + ", it is " + dims_str(w.dims));
  }
  Window win;
  for (std::size_t i = 0; i < n; ++i) {
    win.kernel.push_back(ctx.checked_int(w.dims[2 + i], "the weight's kernel size", 1, kMaxParam));
  }
  if (const auto ks = ctx.attr_ints("kernel_shape"); ks && *ks != Dims(w.dims.begin() + 2, w.dims.end())) {
    ctx.fail("attribute 'kernel_shape' " + dims_str(*ks) + " differs from the weight's " + dims_str(w.dims));
  }
  win.stride = spatial_ints(ctx, "strides", n, 1, 1);
  win.dilation = spatial_ints(ctx, "dilations", n, 1, 1);
  resolve_pads(ctx, Dims(x.dims.begin() + 2, x.dims.end()), win);
  finish_window(ctx, x, win);
  const int group = ctx.checked_int(ctx.attr_int("group", 1), "attribute 'group'", 1, kMaxParam);
  const std::int64_t cout = w.dims[0];
  // Divided, not multiplied: w.dims[1] is bounded only by the memory limit (up to 2^62 for a
  // limit given as SIZE_MAX), and times a group of up to 2^24 it can overflow int64.
  if (x.dims[1] % group != 0 || x.dims[1] / group != w.dims[1] || cout % group != 0) {
    ctx.fail("weight " + dims_str(w.dims) + " with group " + std::to_string(group) +
             " does not fit an input of " + std::to_string(x.dims[1]) + " channels");
  }
  Conv2dParams p;
  p.out_channels = ctx.checked_int(cout, "output channels", 1, std::numeric_limits<int>::max());
  p.kernel_h = win.kernel[0], p.stride_h = win.stride[0], p.dilation_h = win.dilation[0];
  p.pad_top = win.begin[0], p.pad_bottom = win.end[0];
  if (n == 2) {
    p.kernel_w = win.kernel[1], p.stride_w = win.stride[1], p.dilation_w = win.dilation[1];
    p.pad_left = win.begin[1], p.pad_right = win.end[1];
  }
  p.groups = group;
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kConv2d;
  l.inputs = {x.id};
  l.params = p;
  l.weight = tensor_of(w, {p.out_channels, static_cast<int>(w.dims[1]), p.kernel_h, p.kernel_w});
  if (ctx.has_input(2)) {
    const Constant& b = ctx.constant(2);
    if (b.type != DType::kFloat || b.count() != static_cast<std::size_t>(cout)) {
      ctx.fail("bias '" + ctx.node().input(2) + "' " + dims_str(b.dims) + " is not " +
               std::to_string(cout) + " floats");
    }
    l.bias = tensor_of(b, {1, p.out_channels, 1, 1});
  }
  ctx.set_output(0, ctx.importer().add_layer_ranked(std::move(l), ctx.output_name(), x.dims.size()));
}

void convert_pool(NodeContext& ctx, bool is_max) {
  ctx.expect_inputs(1, 1);
  if (is_max && ctx.output_used(1)) ctx.unsupported("output 'Indices' (argmax) is not computed");
  const Runtime& x = spatial_input(ctx);
  const std::size_t n = x.dims.size() - 2;
  Window win;
  if (!ctx.attribute("kernel_shape")) ctx.fail("attribute 'kernel_shape' is required");
  win.kernel = spatial_ints(ctx, "kernel_shape", n, 1, 1);
  win.stride = spatial_ints(ctx, "strides", n, 1, 1);
  win.dilation = spatial_ints(ctx, "dilations", n, 1, 1);
  for (int d : win.dilation) {
    if (d != 1) ctx.refuse_attribute("dilations", "pooling with dilations other than 1");
  }
  resolve_pads(ctx, Dims(x.dims.begin() + 2, x.dims.end()), win);
  const bool explicit_pads = ctx.attr_string("auto_pad", "NOTSET") == "NOTSET";
  const bool own_pads = std::any_of(win.begin.begin(), win.begin.end(), [](int v) { return v > 0; }) ||
                        std::any_of(win.end.begin(), win.end.end(), [](int v) { return v > 0; });
  bool count_pad = !is_max && ctx.attr_int("count_include_pad", 0) != 0;
  if (x.pad) {
    if (is_max) ctx.unsupported("a zero Pad before MaxPool (zeros are not max pooling's padding)");
    if (!count_pad && own_pads) {
      ctx.unsupported("a zero Pad before an AveragePool with its own padding not counted");
    }
    count_pad = true;  // the Pad's zeros are real inputs of the average
  }
  finish_window(ctx, x, win);
  Pool2dParams p;
  p.kernel_h = win.kernel[0], p.stride_h = win.stride[0], p.pad_h = win.begin[0];
  p.kernel_w = 1, p.stride_w = 1, p.pad_w = 0;
  if (n == 2) p.kernel_w = win.kernel[1], p.stride_w = win.stride[1], p.pad_w = win.begin[1];
  if (win.end[0] != p.pad_h) p.pad_bottom_if_asymmetric = win.end[0];
  if (n == 2 && win.end[1] != p.pad_w) p.pad_right_if_asymmetric = win.end[1];
  // auto_pad SAME and VALID fix the output size: ceil_mode applies to explicit pads only.
  p.ceil_mode = explicit_pads && ctx.attr_int("ceil_mode", 0) != 0;
  p.count_include_pad = count_pad;
  Layer l;
  l.name = ctx.name();
  l.op = is_max ? OpKind::kMaxPool : OpKind::kAvgPool;
  l.inputs = {x.id};
  l.params = p;
  ctx.set_output(0, ctx.importer().add_layer_ranked(std::move(l), ctx.output_name(), x.dims.size()));
}

void convert_global_avgpool(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Runtime& x = ctx.runtime(0);
  if (x.dims.size() < 3) ctx.fail("input of rank " + std::to_string(x.dims.size()) + " has no spatial axes");
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kGlobalAvgPool;
  l.inputs = {x.id};
  ctx.set_output(0, ctx.importer().add_layer_ranked(std::move(l), ctx.output_name(), x.dims.size()));
}

std::vector<float> channel_vector(const NodeContext& ctx, int input, std::int64_t channels) {
  const Constant& c = ctx.constant(input);
  if (c.type != DType::kFloat || c.count() != static_cast<std::size_t>(channels)) {
    ctx.fail("input '" + ctx.node().input(input) + "' " + dims_str(c.dims) + " is not " +
             std::to_string(channels) + " floats");
  }
  return c.f;
}

void convert_batch_norm(NodeContext& ctx) {
  ctx.expect_inputs(5, 5);
  const Runtime& x = ctx.runtime(0);
  if (x.dims.size() < 2) ctx.fail("input of rank " + std::to_string(x.dims.size()) + " has no channels");
  if (ctx.opset() < 9 && ctx.attr_int("spatial", 1) == 0) {
    ctx.refuse_attribute("spatial", "0 (statistics per element, not per channel)");
  }
  if (ctx.attr_int("training_mode", 0) != 0) ctx.refuse_attribute("training_mode", "1 (training)");
  if (ctx.opset() < 7 && ctx.attr_int("is_test", 0) == 0) ctx.refuse_attribute("is_test", "0 (training)");
  for (int i = 1; i < ctx.output_count(); ++i) {
    if (ctx.output_used(i)) ctx.unsupported("the running statistics outputs (training) are used");
  }
  BatchNormParams p;
  p.epsilon = ctx.attr_float("epsilon", 1e-5f);
  if (!(p.epsilon >= 0)) ctx.fail("attribute 'epsilon' must be >= 0");
  p.gamma = channel_vector(ctx, 1, x.dims[1]);
  p.beta = channel_vector(ctx, 2, x.dims[1]);
  p.mean = channel_vector(ctx, 3, x.dims[1]);
  p.variance = channel_vector(ctx, 4, x.dims[1]);
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kBatchNorm;
  l.inputs = {x.id};
  l.params = std::move(p);
  ctx.set_output(0, ctx.importer().add_layer(std::move(l), ctx.output_name(), x.dims));
}

void add_activation(NodeContext& ctx, OpKind op) {
  const Runtime& x = ctx.runtime(0);
  Layer l;
  l.name = ctx.name();
  l.op = op;
  l.inputs = {x.id};
  ctx.set_output(0, ctx.importer().add_layer(std::move(l), ctx.output_name(), x.dims));
}

void convert_relu(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  add_activation(ctx, OpKind::kRelu);
}

// Clip(0, 6) is ReLU6 and Clip(0, +inf) ReLU; other bounds are refused. Bounds are attributes
// before opset 11 and optional scalar inputs since.
void convert_clip(NodeContext& ctx) {
  const float lowest = std::numeric_limits<float>::lowest(), highest = std::numeric_limits<float>::max();
  float lo = lowest, hi = highest;
  if (ctx.opset() < 11) {
    ctx.expect_inputs(1, 1);
    lo = ctx.attr_float("min", lowest);
    hi = ctx.attr_float("max", highest);
  } else {
    ctx.expect_inputs(1, 3);
    for (int i : {1, 2}) {
      if (!ctx.has_input(i)) continue;
      const Constant& c = ctx.constant(i);
      if (c.type != DType::kFloat || c.count() != 1) {
        ctx.fail("bound '" + ctx.node().input(i) + "' is not a float scalar");
      }
      (i == 1 ? lo : hi) = c.f[0];
    }
  }
  const bool no_max = hi == highest || std::isinf(hi);
  if (lo == 0.0f && hi == 6.0f) return add_activation(ctx, OpKind::kRelu6);
  if (lo == 0.0f && no_max) return add_activation(ctx, OpKind::kRelu);
  if ((lo == lowest || std::isinf(lo)) && no_max) {  // no bounds: the identity
    ctx.set_output(0, ctx.runtime(0));
    return;
  }
  std::ostringstream bounds;
  bounds << "Clip to [";
  (lo == lowest ? bounds << "-inf" : bounds << lo) << ", ";
  (no_max ? bounds << "inf" : bounds << hi) << "]: only [0, 6] (ReLU6) and [0, inf) (ReLU) are imported";
  ctx.unsupported(bounds.str());
}

// Softmax over the engine's channels of a view: before opset 13 the input is coerced to 2-D at
// `axis` (default 1); since, it is normalized along `axis` alone (default -1).
void convert_softmax(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Runtime& x = ctx.runtime(0);
  const std::size_t r = x.dims.size();
  if (r == 0) ctx.fail("softmax of a scalar");
  const std::size_t a = ctx.axis(ctx.attr_int("axis", ctx.opset() < 13 ? 1 : -1), r, "axis");
  Shape v;
  if (ctx.opset() < 13) {
    v = {int(span_product(x.dims, 0, a)), int(span_product(x.dims, a, r)), 1, 1};
  } else {
    v = {int(span_product(x.dims, 0, a)), int(x.dims[a]), int(span_product(x.dims, a + 1, r)), 1};
  }
  Importer& im = ctx.importer();
  const Shape original = im.graph().shape(x.id);
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kSoftmax;
  l.inputs = {im.view(x.id, v, ctx.name() + "/in")};
  const bool same = v == original;
  const Runtime y = im.add_layer(std::move(l), same ? ctx.output_name() : ctx.name() + "/softmax",
                                 {v.n, v.c, v.h, v.w});
  if (same) return ctx.set_output(0, Runtime{y.id, x.dims, std::nullopt});
  ctx.set_output(0, Runtime{im.view(y.id, original, ctx.output_name()), x.dims, std::nullopt});
}

// A fully connected layer on x seen as (M, K): weight (N, K), bias of N or none.
Runtime fully_connected(NodeContext& ctx, const Runtime& x, std::int64_t m, Tensor weight,
                        Tensor bias, const Dims& out_dims) {
  Importer& im = ctx.importer();
  const int k = weight.shape().c;
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kFullyConnected;
  l.inputs = {im.view(x.id, {int(m), k, 1, 1}, ctx.name() + "/in")};
  const int n = weight.shape().n;
  l.params = FullyConnectedParams{n, Activation::kNone};
  l.weight = std::move(weight);
  l.bias = std::move(bias);
  const Runtime y = im.add_layer(std::move(l), ctx.name() + "/fc", {m, n, 1, 1});
  return Runtime{im.view(y.id, nchw_of(out_dims, "output"), ctx.output_name()), out_dims, std::nullopt};
}

// MatMul(x, W) with a constant 2-D W: a fully connected layer over x's last axis.
void convert_matmul(NodeContext& ctx) {
  ctx.expect_inputs(2, 2);
  if (ctx.is_constant(0)) ctx.unsupported("a constant left operand (only x times a constant matrix is imported)");
  const Runtime& x = ctx.runtime(0);
  if (!ctx.is_constant(1)) ctx.unsupported("a right operand computed at run time (only x times a constant matrix is imported)");
  const Constant& w = ctx.constant(1);
  if (w.type != DType::kFloat || w.dims.size() != 2) {
    ctx.unsupported("a right operand of " + dims_str(w.dims) + " (a constant 2-D float matrix is imported)");
  }
  const std::int64_t k = w.dims[0], n = w.dims[1];
  if (x.dims.empty() || x.dims.back() != k) {
    ctx.fail("operands " + dims_str(x.dims) + " and " + dims_str(w.dims) + " do not multiply");
  }
  // k is an input's extent, so it fits an int; n must too before it sizes the engine's tensor.
  ctx.checked_int(n, "the matrix's column count", 0, std::numeric_limits<int>::max());
  Tensor weight({int(n), int(k), 1, 1});
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j < n; ++j) weight[j * k + i] = w.f[i * n + j];
  }
  Dims out(x.dims.begin(), x.dims.end() - 1);
  const std::int64_t m = span_product(out, 0, out.size());
  out.push_back(n);
  ctx.set_output(0, fully_connected(ctx, x, m, std::move(weight), Tensor(), out));
}

// Gemm: alpha * A * B' + beta * C with a computed A (not transposed) and constant B and C.
void convert_gemm(NodeContext& ctx) {
  ctx.expect_inputs(2, 3);
  const Runtime& a = ctx.runtime(0);
  if (a.dims.size() != 2) ctx.fail("A must have rank 2, it is " + dims_str(a.dims));
  if (ctx.attr_int("transA", 0) != 0) ctx.refuse_attribute("transA", "1 with A computed at run time");
  const Constant& b = ctx.constant(1);
  if (b.type != DType::kFloat || b.dims.size() != 2) ctx.fail("B must be a 2-D float matrix");
  const bool trans_b = ctx.attr_int("transB", 0) != 0;
  const std::int64_t k = trans_b ? b.dims[1] : b.dims[0], n = trans_b ? b.dims[0] : b.dims[1];
  if (a.dims[1] != k) ctx.fail("A " + dims_str(a.dims) + " and B " + dims_str(b.dims) + " do not multiply");
  const float alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
  ctx.checked_int(n, "B's output count", 0, std::numeric_limits<int>::max());  // see MatMul
  Tensor weight({int(n), int(k), 1, 1});
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < k; ++i) {
      weight[j * k + i] = alpha * (trans_b ? b.f[j * k + i] : b.f[i * n + j]);
    }
  }
  const std::int64_t m = a.dims[0];
  Constant c;
  const bool has_c = ctx.has_input(2) && beta != 0.0f;
  if (has_c) {
    c = ctx.constant(2);
    if (c.type != DType::kFloat || c.dims.size() > 2) ctx.fail("C must be a float tensor of rank <= 2");
    for (float& v : c.f) v *= beta;
  }
  // C of one value or one row is the layer's bias; any other C is added after it.
  const bool row = has_c && (c.count() == 1 || (c.dims.back() == n && span_product(c.dims, 0, c.dims.size() - 1) == 1));
  Tensor bias;
  if (row) {
    bias = Tensor({1, int(n), 1, 1});
    for (std::int64_t j = 0; j < n; ++j) bias[j] = c.f[c.count() == 1 ? 0 : j];
  }
  Runtime y = fully_connected(ctx, a, m, std::move(weight), std::move(bias), {m, n});
  if (has_c && !row) y = apply_constant(ctx, y, "", c, false);
  ctx.set_output(0, y);
}

}  // namespace

void add_nn_converters(ConverterTable& t) {
  t["Conv"] = convert_conv;
  t["MaxPool"] = [](NodeContext& ctx) { convert_pool(ctx, true); };
  t["AveragePool"] = [](NodeContext& ctx) { convert_pool(ctx, false); };
  t["GlobalAveragePool"] = convert_global_avgpool;
  t["BatchNormalization"] = convert_batch_norm;
  t["Relu"] = convert_relu;
  t["Clip"] = convert_clip;
  t["Softmax"] = convert_softmax;
  t["MatMul"] = convert_matmul;
  t["Gemm"] = convert_gemm;
}

}  // namespace libscout::onnx_import
