// Add, Sub, Mul and Div: between a computed tensor and a constant (a per-channel affine layer on
// a view of the tensor, folded into a preceding convolution by the load passes, or the bias of a
// preceding MatMul), between two computed tensors of one shape (Add), and between constants
// (folded at load, with NumPy broadcasting).
#include <algorithm>
#include <limits>
#include <type_traits>

#include "onnx/import_context.h"

namespace libscout::onnx_import {

namespace {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

Dims broadcast_dims(const NodeContext& ctx, const Dims& a, const Dims& b) {
  Dims out(std::max(a.size(), b.size()), 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) {
      ctx.fail("operands " + dims_str(a) + " and " + dims_str(b) + " do not broadcast");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// The flat index into `dims` (aligned right to `out`) of the element at out's flat index k.
std::size_t source_index(const Dims& dims, const Dims& out, std::size_t k) {
  std::size_t index = 0, stride = 1;
  for (std::size_t i = out.size(); i-- > 0;) {
    const std::size_t coord = k % static_cast<std::size_t>(out[i]);
    k /= static_cast<std::size_t>(out[i]);
    if (i < out.size() - dims.size()) continue;  // an axis that `dims` lacks
    const std::size_t j = i + dims.size() - out.size();
    if (dims[j] != 1) index += coord * stride;
    stride *= static_cast<std::size_t>(dims[j]);
  }
  return index;
}

template <typename T>
T apply(const NodeContext& ctx, BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) ctx.fail("integer division by zero");
        if (a == std::numeric_limits<T>::min() && b == -1) ctx.fail("integer division overflows");
      }
      return a / b;
  }
  return a;
}

Constant fold_binary(NodeContext& ctx, BinaryOp op, const Constant& a, const Constant& b) {
  if (a.type != b.type) ctx.fail("operands of different data types");
  Constant out;
  out.type = a.type;
  out.dims = broadcast_dims(ctx, a.dims, b.dims);
  const std::size_t count = checked_count(out.dims, ctx.importer().limit() / 8, ctx.where());
  ctx.importer().charge(std::uint64_t{count} * 8, ctx.where());
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t ia = source_index(a.dims, out.dims, k), ib = source_index(b.dims, out.dims, k);
    if (a.type == DType::kFloat) {
      out.f.push_back(apply(ctx, op, a.f[ia], b.f[ib]));
    } else {
      // Integer shape arithmetic: wrap-around is refused rather than computed.
      const std::int64_t x = a.i[ia], y = b.i[ib];
      std::int64_t r = 0;
      if ((op == BinaryOp::kAdd && __builtin_add_overflow(x, y, &r)) ||
          (op == BinaryOp::kSub && __builtin_sub_overflow(x, y, &r)) ||
          (op == BinaryOp::kMul && __builtin_mul_overflow(x, y, &r))) {
        ctx.fail("integer arithmetic overflows");
      }
      out.i.push_back(op == BinaryOp::kDiv ? apply(ctx, op, x, y) : r);
    }
  }
  return out;
}

// Two computed tensors: only Add of equal shapes (the residual connection).
void add_runtime(NodeContext& ctx, BinaryOp op) {
  const Runtime& a = ctx.runtime(0);
  const Runtime& b = ctx.runtime(1);
  if (op != BinaryOp::kAdd) {
    ctx.unsupported(ctx.op() + " of two tensors computed at run time (only Add is imported)");
  }
  if (a.dims != b.dims) {
    ctx.unsupported("Add of " + dims_str(a.dims) + " and " + dims_str(b.dims) +
                    " (broadcasting between two computed tensors is not imported)");
  }
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kAdd;
  l.inputs = {a.id, b.id};
  l.params = AddParams{};
  ctx.set_output(0, ctx.importer().add_layer(std::move(l), ctx.output_name(), a.dims));
}

// Before opset 7, B broadcasts to A only with broadcast=1, its dimensions placed from `axis`
// (default: the trailing ones). Rewritten as NumPy's right-aligned broadcasting.
void legacy_broadcast(const NodeContext& ctx, const Dims& a, Constant& b, bool b_first) {
  if (ctx.attr_int("broadcast", 0) == 0) {
    if (b.dims != a) ctx.fail("operands " + dims_str(a) + " and " + dims_str(b.dims) + " differ without broadcast=1");
    return;
  }
  if (b_first) ctx.unsupported("broadcast=1 with the constant first (it is B that broadcasts)");
  if (ctx.attribute("axis") != nullptr) {
    const std::size_t at = ctx.axis(ctx.attr_int("axis", 0), a.size(), "axis");
    if (at + b.dims.size() > a.size()) ctx.fail("B " + dims_str(b.dims) + " does not fit A at axis " + std::to_string(at));
    b.dims.resize(a.size() - at, 1);
  }
}

void convert_binary(NodeContext& ctx, BinaryOp op) {
  ctx.expect_inputs(2, 2);
  const bool c0 = ctx.is_constant(0), c1 = ctx.is_constant(1);
  if (c0 && c1) return ctx.set_output(0, fold_binary(ctx, op, ctx.constant(0), ctx.constant(1)));
  if (!c0 && !c1) return add_runtime(ctx, op);
  const int x_input = c0 ? 1 : 0;
  Constant c = ctx.constant(c0 ? 0 : 1);
  if (ctx.opset() < 7) legacy_broadcast(ctx, ctx.runtime(x_input).dims, c, c0);
  if (c.type != DType::kFloat) ctx.fail("a " + dims_str(c.dims) + " int64 constant with a float tensor");
  if (c0 && (op == BinaryOp::kSub || op == BinaryOp::kDiv)) {
    ctx.unsupported("a constant minus or over a computed tensor (x - c and x / c are imported)");
  }
  if (op == BinaryOp::kSub) {
    for (float& v : c.f) v = -v;
  }
  if (op == BinaryOp::kDiv) {
    for (float& v : c.f) v = 1.0f / v;
  }
  const bool multiply = op == BinaryOp::kMul || op == BinaryOp::kDiv;
  ctx.set_output(0, apply_constant(ctx, ctx.runtime(x_input), ctx.node().input(x_input), c, multiply));
}

}  // namespace

Runtime apply_constant(NodeContext& ctx, const Runtime& x, const std::string& x_name,
                       const Constant& c, bool multiply) {
  const std::size_t r = x.dims.size();
  if (c.count() == 0) ctx.fail("an empty constant operand");
  if (c.dims.size() > r || broadcast_dims(ctx, x.dims, c.dims) != x.dims) {
    ctx.unsupported("a constant of " + dims_str(c.dims) + " that enlarges the tensor of " +
                    dims_str(x.dims) + " it applies to");
  }
  Dims cd(r - c.dims.size(), 1);
  cd.insert(cd.end(), c.dims.begin(), c.dims.end());
  std::size_t first = r, last = 0;
  for (std::size_t i = 0; i < r; ++i) {
    if (cd[i] != 1) first = std::min(first, i), last = i;
  }
  Importer& im = ctx.importer();
  const Shape shape = im.graph().shape(x.id);
  Shape v = shape;  // the view whose channels the constant's values run along
  std::vector<float> values = c.f;
  if (first == r) {
    values.assign(static_cast<std::size_t>(shape.c), c.f[0]);
  } else {
    for (std::size_t i = first; i <= last; ++i) {
      if (cd[i] != x.dims[i]) {
        ctx.unsupported("a constant of " + dims_str(c.dims) + " that repeats inside its span of " +
                        dims_str(x.dims));
      }
    }
    const int a = int(span_product(x.dims, 0, first)), ch = int(span_product(x.dims, first, last + 1));
    if (!(shape.n == a && shape.c == ch)) v = {a, ch, int(span_product(x.dims, last + 1, r)), 1};
  }
  // MatMul + Add: the addition is the bias of the fully connected layer, when nothing else reads
  // the product.
  Layer* p = im.producer(x.id);
  if (!multiply && !x_name.empty() && im.uses(x_name) == 1 && v == shape && p != nullptr &&
      p->op == OpKind::kFullyConnected && p->bias.empty() && v.h == 1 && v.w == 1) {
    p->bias = Tensor({1, v.c, 1, 1});
    std::copy(values.begin(), values.end(), p->bias.data());
    return Runtime{x.id, x.dims, std::nullopt};
  }
  BatchNormParams bn;
  bn.epsilon = 0.0f;
  bn.gamma = multiply ? values : std::vector<float>(values.size(), 1.0f);
  bn.beta = multiply ? std::vector<float>(values.size(), 0.0f) : values;
  bn.mean.assign(values.size(), 0.0f);
  bn.variance.assign(values.size(), 1.0f);
  Layer l;
  l.name = ctx.name();
  l.op = OpKind::kBatchNorm;
  l.inputs = {im.view(x.id, v, ctx.name() + "/view")};
  l.params = std::move(bn);
  const bool viewed = v != shape;
  const Runtime y = im.add_layer(std::move(l), viewed ? ctx.name() + "/affine" : ctx.output_name(),
                                 viewed ? Dims{v.n, v.c, v.h, v.w} : x.dims);
  if (!viewed) return y;
  return Runtime{im.view(y.id, shape, ctx.output_name()), x.dims, std::nullopt};
}

void add_elementwise_converters(ConverterTable& t) {
  t["Add"] = [](NodeContext& ctx) { convert_binary(ctx, BinaryOp::kAdd); };
  t["Sub"] = [](NodeContext& ctx) { convert_binary(ctx, BinaryOp::kSub); };
  t["Mul"] = [](NodeContext& ctx) { convert_binary(ctx, BinaryOp::kMul); };
  t["Div"] = [](NodeContext& ctx) { convert_binary(ctx, BinaryOp::kDiv); };
}

}  // namespace libscout::onnx_import
