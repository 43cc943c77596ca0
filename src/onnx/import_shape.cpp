// Converters that move or rename data: Reshape, Flatten, Concat, Unsqueeze, Squeeze, Identity,
// Dropout, Cast, Pad (folded into what follows), and the constant shape arithmetic that PyTorch
// exports put before a Reshape (Constant, Shape, Gather, ... folded at load).
#include <algorithm>
#include <set>
#include <sstream>

#include "onnx/import_context.h"

namespace libscout::onnx_import {

namespace {

const Dims& dims_of_symbol(const Symbol& s) {
  if (const auto* c = std::get_if<Constant>(&s)) return c->dims;
  return std::get<Runtime>(s).dims;
}

// Input `i` with new dimensions (same element count): a constant keeps its values, a computed
// tensor gets a view when its NCHW form changes.
Symbol reshaped(NodeContext& ctx, int i, const Dims& dims) {
  if (ctx.is_constant(i)) {
    Constant c = ctx.constant(i);
    c.dims = dims;
    return c;
  }
  const Runtime& x = ctx.runtime(i);
  const Shape s = nchw_of(dims, "output '" + ctx.output_name() + "'");
  return Runtime{ctx.importer().view(x.id, s, ctx.output_name()), dims, std::nullopt};
}

std::vector<std::int64_t> int_vector(const NodeContext& ctx, int i, const char* what) {
  const Constant& c = ctx.constant(i);
  if (c.type != DType::kInt64 || c.dims.size() > 1) ctx.fail(std::string(what) + " must be a 1-D int64 tensor");
  return c.i;
}

void convert_reshape(NodeContext& ctx) {
  ctx.expect_inputs(2, 2);
  const Dims& in = dims_of_symbol(ctx.symbol(0));
  const std::vector<std::int64_t> shape = int_vector(ctx, 1, "the shape");
  const bool allow_zero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  Dims out;
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::int64_t d = shape[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.size()) ctx.fail("shape value 0 at axis " + std::to_string(i) + " copies a missing axis");
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) ctx.fail("the shape has more than one -1");
      infer = static_cast<int>(i);
    } else if (d < 0) {
      ctx.fail("the shape has the negative value " + std::to_string(d));
    } else if (d != 0 && known > (std::int64_t(1) << 40) / d) {
      ctx.fail("the shape " + dims_str(shape) + " is too large");
    } else {
      known *= d;
    }
    out.push_back(d);
  }
  const std::int64_t total = span_product(in, 0, in.size());
  if (infer >= 0) {
    if (known == 0 || total % known != 0) ctx.fail("cannot reshape " + dims_str(in) + " to " + dims_str(shape));
    out[infer] = total / known;
  } else if (known != total) {
    ctx.fail("cannot reshape " + dims_str(in) + " (" + std::to_string(total) + " elements) to " + dims_str(out));
  }
  ctx.set_output(0, reshaped(ctx, 0, out));
}

void convert_flatten(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Dims& in = dims_of_symbol(ctx.symbol(0));
  const std::int64_t a = ctx.attr_int("axis", 1);
  if (ctx.opset() < 11 && a < 0) ctx.fail("a negative axis needs opset 11");
  const std::size_t axis = a == static_cast<std::int64_t>(in.size()) ? in.size() : ctx.axis(a, in.size(), "axis");
  ctx.set_output(0, reshaped(ctx, 0, {span_product(in, 0, axis), span_product(in, axis, in.size())}));
}

Constant concat_constants(NodeContext& ctx, std::size_t axis) {
  Constant out = ctx.constant(0);
  const std::size_t rank = out.dims.size();
  const std::int64_t outer = span_product(out.dims, 0, axis);
  std::vector<const Constant*> parts;
  out.dims[axis] = 0;
  for (int i = 0; i < ctx.input_count(); ++i) {
    const Constant& c = ctx.constant(i);
    if (c.type != out.type || c.dims.size() != rank) ctx.fail("inputs of different ranks or types");
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != axis && c.dims[d] != out.dims[d]) ctx.fail("inputs differ outside the concatenation axis");
    }
    if (__builtin_add_overflow(out.dims[axis], c.dims[axis], &out.dims[axis])) {
      ctx.fail("the inputs' extents along axis " + std::to_string(axis) + " add up past int64");
    }
    parts.push_back(&c);
  }
  const std::size_t count = checked_count(out.dims, ctx.importer().limit() / 8, ctx.where());
  ctx.importer().charge(std::uint64_t{count} * 8, ctx.where());
  out.f.clear();
  out.i.clear();
  if (count == 0) return out;  // empty: the loop over `outer` would only take time
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const Constant* c : parts) {
      const std::size_t len = static_cast<std::size_t>(span_product(c->dims, axis, rank));
      const std::size_t at = static_cast<std::size_t>(o) * len;
      if (out.type == DType::kFloat) out.f.insert(out.f.end(), c->f.begin() + at, c->f.begin() + at + len);
      else out.i.insert(out.i.end(), c->i.begin() + at, c->i.begin() + at + len);
    }
  }
  return out;
}

// Concat of computed tensors: each seen as (outer, its extent along the axis, inner, 1), the
// engine's concatenation along channels.
void convert_concat(NodeContext& ctx) {
  if (ctx.input_count() < 1) ctx.fail("has no input");
  const Dims& first = dims_of_symbol(ctx.symbol(0));
  if (first.empty()) ctx.fail("cannot concatenate scalars");
  const std::size_t axis = ctx.axis(ctx.attr_int("axis", ctx.opset() < 11 ? 1 : 0), first.size(), "axis");
  bool all_constant = true, any_constant = false;
  for (int i = 0; i < ctx.input_count(); ++i) {
    const bool c = ctx.is_constant(i);
    all_constant = all_constant && c;
    any_constant = any_constant || c;
  }
  if (all_constant) return ctx.set_output(0, concat_constants(ctx, axis));
  if (any_constant) ctx.unsupported("a constant concatenated with computed tensors");
  Importer& im = ctx.importer();
  Dims out = first;
  out[axis] = 0;
  bool direct = true;  // every input's NCHW shape already has the axis as its channels
  for (int i = 0; i < ctx.input_count(); ++i) {
    const Runtime& x = ctx.runtime(i);
    if (x.dims.size() != first.size()) ctx.fail("inputs of different ranks");
    for (std::size_t d = 0; d < first.size(); ++d) {
      if (d != axis && x.dims[d] != first[d]) {
        ctx.fail("inputs " + dims_str(first) + " and " + dims_str(x.dims) + " differ outside the axis");
      }
    }
    out[axis] += x.dims[axis];
    const Shape s = im.graph().shape(x.id);
    direct = direct && s.n == span_product(x.dims, 0, axis) && s.c == x.dims[axis];
  }
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kConcat;
  for (int i = 0; i < ctx.input_count(); ++i) {
    const Runtime& x = ctx.runtime(i);
    const Shape v{int(span_product(x.dims, 0, axis)), int(x.dims[axis]),
                  int(span_product(x.dims, axis + 1, x.dims.size())), 1};
    l.inputs.push_back(direct ? x.id : im.view(x.id, v, ctx.name() + "/in" + std::to_string(i)));
  }
  const Shape want = nchw_of(out, "output '" + ctx.output_name() + "'");
  const Shape& s0 = im.graph().shape(l.inputs[0]);
  const int channels = int(out[axis]);
  const Runtime y = im.add_layer(std::move(l), ctx.name() + "/concat", {s0.n, channels, s0.h, s0.w});
  ctx.set_output(0, Runtime{im.view(y.id, want, ctx.output_name()), out, std::nullopt});
}

// Unsqueeze / Squeeze: axes from the attribute before opset 13, from input 1 since.
Dims axes_of(NodeContext& ctx) {
  if (ctx.opset() < 13) return ctx.attr_ints("axes").value_or(Dims{});
  if (!ctx.has_input(1)) return {};
  return int_vector(ctx, 1, "the axes");
}

void convert_unsqueeze(NodeContext& ctx) {
  ctx.expect_inputs(1, ctx.opset() < 13 ? 1 : 2);
  const Dims& in = dims_of_symbol(ctx.symbol(0));
  const Dims axes = axes_of(ctx);
  if (axes.empty()) ctx.fail("no axes to insert");
  const std::size_t rank = in.size() + axes.size();
  std::set<std::size_t> at;
  for (std::int64_t a : axes) {
    if (!at.insert(ctx.axis(a, rank, "axis")).second) ctx.fail("an axis is repeated");
  }
  Dims out;
  for (std::size_t i = 0, k = 0; i < rank; ++i) out.push_back(at.count(i) ? 1 : in[k++]);
  ctx.set_output(0, reshaped(ctx, 0, out));
}

void convert_squeeze(NodeContext& ctx) {
  ctx.expect_inputs(1, ctx.opset() < 13 ? 1 : 2);
  const Dims& in = dims_of_symbol(ctx.symbol(0));
  std::set<std::size_t> drop;
  for (std::int64_t a : axes_of(ctx)) {
    const std::size_t i = ctx.axis(a, in.size(), "axis");
    if (in[i] != 1) ctx.fail("axis " + std::to_string(a) + " of " + dims_str(in) + " is not 1");
    drop.insert(i);
  }
  Dims out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (drop.empty() ? in[i] != 1 : !drop.count(i)) out.push_back(in[i]);
  }
  ctx.set_output(0, reshaped(ctx, 0, out));
}

void convert_shape(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Dims& in = dims_of_symbol(ctx.symbol(0));
  const auto r = static_cast<std::int64_t>(in.size());
  auto clamp = [&](std::int64_t v) { return std::clamp(v < 0 ? v + r : v, std::int64_t(0), r); };
  const std::int64_t begin = clamp(ctx.attr_int("start", 0)), end = clamp(ctx.attr_int("end", r));
  Constant c;
  c.type = DType::kInt64;
  if (begin < end) c.i.assign(in.begin() + begin, in.begin() + end);
  c.dims = {static_cast<std::int64_t>(c.i.size())};
  ctx.set_output(0, c);
}

void convert_gather(NodeContext& ctx) {
  ctx.expect_inputs(2, 2);
  if (!ctx.is_constant(0)) ctx.unsupported("Gather from a tensor computed at run time");
  const Constant& data = ctx.constant(0);
  const Constant& idx = ctx.constant(1);
  if (idx.type != DType::kInt64) ctx.fail("indices must be integers");
  if (data.dims.empty()) ctx.fail("Gather from a scalar");
  const std::size_t axis = ctx.axis(ctx.attr_int("axis", 0), data.dims.size(), "axis");
  const std::int64_t extent = data.dims[axis];
  for (std::int64_t j : idx.i) {
    if (j < -extent || j >= extent) ctx.fail("index " + std::to_string(j) + " is out of range");
  }
  Constant out;
  out.type = data.type;
  out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
  out.dims.insert(out.dims.end(), idx.dims.begin(), idx.dims.end());
  out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  const std::size_t count = checked_count(out.dims, ctx.importer().limit() / 8, ctx.where());
  if (count == 0) return ctx.set_output(0, out);  // nothing to gather (empty indices or other axes)
  ctx.importer().charge(std::uint64_t{count} * 8, ctx.where());
  const std::int64_t outer = span_product(data.dims, 0, axis);
  const std::int64_t inner = span_product(data.dims, axis + 1, data.dims.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j : idx.i) {
      const std::size_t at = static_cast<std::size_t>((o * extent + (j < 0 ? j + extent : j)) * inner);
      for (std::int64_t k = 0; k < inner; ++k) {
        if (data.type == DType::kFloat) out.f.push_back(data.f[at + k]);
        else out.i.push_back(data.i[at + k]);
      }
    }
  }
  ctx.set_output(0, out);
}

void convert_cast(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  const std::int64_t to = ctx.attr_int("to", 0);
  const bool to_float = to == onnx::TensorProto_DataType_FLOAT || to == onnx::TensorProto_DataType_DOUBLE;
  const bool to_int = to == onnx::TensorProto_DataType_INT64 || to == onnx::TensorProto_DataType_INT32;
  if (!ctx.is_constant(0)) {
    if (to != onnx::TensorProto_DataType_FLOAT) ctx.unsupported("Cast of a computed tensor to " + std::string(dtype_name(int(to))));
    return ctx.set_output(0, ctx.runtime(0));
  }
  if (!to_float && !to_int) ctx.unsupported("Cast to " + std::string(dtype_name(int(to))));
  Constant c = ctx.constant(0);
  if (to_float && c.type == DType::kInt64) {
    c.f.assign(c.i.begin(), c.i.end());
    c.i.clear();
  } else if (to_int && c.type == DType::kFloat) {
    for (float v : c.f) {
      if (!(v > -9.2e18f && v < 9.2e18f)) ctx.fail("value " + std::to_string(v) + " does not fit int64");
      c.i.push_back(static_cast<std::int64_t>(v));
    }
    c.f.clear();
  }
  c.type = to_float ? DType::kFloat : DType::kInt64;
  ctx.set_output(0, c);
}

void convert_constant(NodeContext& ctx) {
  ctx.expect_inputs(0, 0);
  if (ctx.node().attribute_size() != 1) ctx.fail("needs exactly one attribute");
  const onnx::AttributeProto& a = ctx.node().attribute(0);
  Constant c;
  if (a.name() == "value") {
    if (a.type() != onnx::AttributeProto_AttributeType_TENSOR) ctx.fail("attribute 'value' is not a tensor");
    c = ctx.importer().decode(a.t(), ctx.where());
  } else if (a.name() == "value_float" || a.name() == "value_floats") {
    c.f = a.name() == "value_float" ? std::vector<float>{ctx.attr_float(a.name(), 0)} : *ctx.attr_floats(a.name());
    if (a.name() == "value_floats") c.dims = {static_cast<std::int64_t>(c.f.size())};
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    c.type = DType::kInt64;
    c.i = a.name() == "value_int" ? Dims{ctx.attr_int(a.name(), 0)} : *ctx.attr_ints(a.name());
    if (a.name() == "value_ints") c.dims = {static_cast<std::int64_t>(c.i.size())};
  } else {
    ctx.refuse_attribute(a.name(), "only numeric constants are imported");
  }
  ctx.set_output(0, c);
}

void convert_identity(NodeContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.set_output(0, ctx.symbol(0));
}

// Dropout is the identity at inference; its mask output and training mode are refused.
void convert_dropout(NodeContext& ctx) {
  ctx.expect_inputs(1, ctx.opset() < 12 ? 1 : 3);
  if (ctx.output_used(1)) ctx.unsupported("the mask output is used");
  if (ctx.opset() < 7 && ctx.attr_int("is_test", 0) == 0) ctx.refuse_attribute("is_test", "0 (training)");
  if (ctx.has_input(2)) {
    const Constant& t = ctx.constant(2);
    if (t.count() != 1 || t.at(0) != 0) ctx.unsupported("training_mode is true");
  }
  ctx.set_output(0, ctx.symbol(0));
}

// A constant zero Pad of the spatial axes, kept pending for the Conv or AveragePool that reads it.
void convert_pad(NodeContext& ctx) {
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode != "constant") ctx.unsupported("mode '" + mode + "' (only constant zero padding is imported)");
  std::vector<std::int64_t> pads;
  float value = 0;
  if (ctx.opset() < 11) {
    ctx.expect_inputs(1, 1);
    if (!ctx.attr_ints("pads")) ctx.fail("attribute 'pads' is required");
    pads = *ctx.attr_ints("pads");
    value = ctx.attr_float("value", 0);
  } else {
    ctx.expect_inputs(2, 3);
    pads = int_vector(ctx, 1, "pads");
    if (ctx.has_input(2)) {
      const Constant& v = ctx.constant(2);
      if (v.count() != 1) ctx.fail("constant_value is not a scalar");
      value = static_cast<float>(v.at(0));
    }
  }
  if (value != 0) {
    std::ostringstream what;
    what << "padding with " << value << " (only zero padding is imported)";
    ctx.unsupported(what.str());
  }
  const Runtime& x = ctx.runtime(0);
  const std::size_t r = x.dims.size();
  if (pads.size() != 2 * r) ctx.fail("pads has " + std::to_string(pads.size()) + " values for a rank-" + std::to_string(r) + " tensor");
  if (r != 3 && r != 4) ctx.unsupported("a Pad of a rank-" + std::to_string(r) + " tensor");
  PendingPad pending;
  Dims out = x.dims;
  for (std::size_t i = 0; i < r; ++i) {
    const std::int64_t b = pads[i], e = pads[i + r];
    if (i < 2 && (b != 0 || e != 0)) ctx.unsupported("padding of the batch or channel axis");
    if (b < 0 || e < 0) ctx.unsupported("negative padding (cropping)");
    if (i < 2) continue;
    pending.begin.push_back(ctx.checked_int(b, "padding", 0, 1 << 24));
    pending.end.push_back(ctx.checked_int(e, "padding", 0, 1 << 24));
    out[i] += b + e;
  }
  ctx.set_output(0, Runtime{x.id, out, pending});
}

}  // namespace

void add_shape_converters(ConverterTable& t) {
  t["Reshape"] = convert_reshape;
  t["Flatten"] = convert_flatten;
  t["Concat"] = convert_concat;
  t["Unsqueeze"] = convert_unsqueeze;
  t["Squeeze"] = convert_squeeze;
  t["Shape"] = convert_shape;
  t["Gather"] = convert_gather;
  t["Cast"] = convert_cast;
  t["Constant"] = convert_constant;
  t["Identity"] = convert_identity;
  t["Dropout"] = convert_dropout;
  t["Pad"] = convert_pad;
}

}  // namespace libscout::onnx_import
