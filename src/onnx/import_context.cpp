#include "onnx/import_context.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace libscout::onnx_import {

std::size_t checked_count(const Dims& dims, std::size_t limit, const std::string& what) {
  // In 64 bits whatever size_t is (32 bits on armhf), so that no dimension is truncated. The
  // product of the non-zero dimensions is what is bounded: an empty tensor's other dimensions
  // would otherwise be free, and the products of consecutive dimensions that the converters
  // take (span_product, loop bounds) could overflow int64 or run for ages.
  const bool empty = std::find(dims.begin(), dims.end(), 0) != dims.end();
  std::uint64_t product = 1;
  for (std::int64_t d : dims) {
    if (d < 0) throw Error(what + ": negative dimension in " + dims_str(dims));
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && product > static_cast<std::uint64_t>(limit) / ud) {
      throw Error(what + ": " + dims_str(dims) +
                  (empty ? " is empty, but its other dimensions multiply past what the memory limit "
                           "allows" : " has more elements than the memory limit allows"));
    }
    if (ud != 0) product *= ud;
  }
  return empty ? 0 : static_cast<std::size_t>(product);
}

Shape nchw_of(const Dims& dims, const std::string& what) {
  if (dims.size() > 4) {
    throw UnsupportedModel(what + ": rank-" + std::to_string(dims.size()) + " tensor " +
                           dims_str(dims) + " (the engine's tensors have at most 4 dimensions)");
  }
  int d[4] = {1, 1, 1, 1};
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 1) {
      throw UnsupportedModel(what + ": tensor " + dims_str(dims) +
                             " has an empty dimension (zero-size tensors are not supported)");
    }
    if (dims[i] > std::numeric_limits<int>::max()) {
      throw Error(what + ": dimension " + std::to_string(dims[i]) + " is too large");
    }
    d[i] = static_cast<int>(dims[i]);
  }
  // Every dimension fits an int; their product must fit the engine's size arithmetic.
  checked_count(dims, std::numeric_limits<int>::max(), what);
  return {d[0], d[1], d[2], d[3]};
}

std::string dims_str(const Dims& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string bytes_str(std::uint64_t bytes) {
  if (bytes < (1u << 20)) return std::to_string(bytes) + " bytes";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

const char* dtype_name(int t) {
  switch (t) {
    case onnx::TensorProto_DataType_FLOAT: return "float32";
    case onnx::TensorProto_DataType_UINT8: return "uint8";
    case onnx::TensorProto_DataType_INT8: return "int8";
    case onnx::TensorProto_DataType_UINT16: return "uint16";
    case onnx::TensorProto_DataType_INT16: return "int16";
    case onnx::TensorProto_DataType_INT32: return "int32";
    case onnx::TensorProto_DataType_INT64: return "int64";
    case onnx::TensorProto_DataType_STRING: return "string";
    case onnx::TensorProto_DataType_BOOL: return "bool";
    case onnx::TensorProto_DataType_FLOAT16: return "float16";
    case onnx::TensorProto_DataType_DOUBLE: return "float64";
    case onnx::TensorProto_DataType_UINT32: return "uint32";
    case onnx::TensorProto_DataType_UINT64: return "uint64";
    case onnx::TensorProto_DataType_BFLOAT16: return "bfloat16";
    default: return "an unknown data type";
  }
}

Dims dims_of(const Shape& s, std::size_t rank) {
  const Dims all = {s.n, s.c, s.h, s.w};
  for (std::size_t i = rank; i < 4; ++i) {
    if (all[i] != 1) throw Error("shape " + s.str() + " does not have rank " + std::to_string(rank));
  }
  return Dims(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(rank));
}

std::int64_t span_product(const Dims& dims, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t i = begin; i < end && i < dims.size(); ++i) p *= dims[i];
  return p;
}

Tensor tensor_of(const Constant& c, Shape shape) {
  if (c.type != DType::kFloat || c.f.size() != shape.elements()) {
    throw Error("a constant of " + dims_str(c.dims) + " does not fill " + shape.str());
  }
  Tensor t(shape);
  std::copy(c.f.begin(), c.f.end(), t.data());
  return t;
}

// --- NodeContext -------------------------------------------------------------------------------

NodeContext::NodeContext(Importer& im, const onnx::NodeProto& node, int opset)
    : im_(im), node_(node), opset_(opset) {}

std::string NodeContext::name() const {
  if (!node_.name().empty()) return node_.name();
  return node_.output_size() > 0 ? node_.output(0) : node_.op_type();
}

std::string NodeContext::where() const {
  return "node '" + name() + "' (" + node_.op_type() + ", opset " + std::to_string(opset_) + ")";
}

void NodeContext::fail(const std::string& what) const { throw Error(where() + ": " + what); }

void NodeContext::unsupported(const std::string& what) const {
  throw UnsupportedModel(where() + ": " + what);
}

void NodeContext::expect_inputs(int min, int max) const {
  int given = node_.input_size();
  while (given > 0 && node_.input(given - 1).empty()) --given;
  if (given < min || given > max) {
    fail("has " + std::to_string(given) + " input(s), expects " +
         (min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max)));
  }
  for (int i = 0; i < min; ++i) {
    if (node_.input(i).empty()) fail("input " + std::to_string(i) + " is required");
  }
}

const Symbol& NodeContext::symbol(int i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
  const Symbol* s = im_.find(node_.input(i));
  if (s == nullptr) {
    fail("input '" + node_.input(i) + "' is not defined before this node (the graph is not in "
         "topological order, has a cycle, or lacks an initializer)");
  }
  return *s;
}

bool NodeContext::is_constant(int i) const {
  return has_input(i) && std::holds_alternative<Constant>(symbol(i));
}

const Constant& NodeContext::constant(int i) const {
  const Symbol& s = symbol(i);
  if (const auto* c = std::get_if<Constant>(&s)) return *c;
  unsupported("input '" + node_.input(i) + "' must be a constant (an initializer or computed "
              "from constants), it is computed at run time");
}

const Runtime& NodeContext::runtime_maybe_padded(int i) const {
  const Symbol& s = symbol(i);
  if (const auto* r = std::get_if<Runtime>(&s)) return *r;
  unsupported("input '" + node_.input(i) + "' is a constant: " + op() +
              " on constants alone is not folded");
}

const Runtime& NodeContext::runtime(int i) const {
  const Runtime& r = runtime_maybe_padded(i);
  if (r.pad) {
    unsupported("input '" + node_.input(i) + "' comes from a Pad, which is only folded into a "
                "following Conv or AveragePool");
  }
  return r;
}

const onnx::AttributeProto* NodeContext::attribute(const std::string& name) const {
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

namespace {

const char* attr_type_name(int t) {
  switch (t) {
    case onnx::AttributeProto_AttributeType_FLOAT: return "FLOAT";
    case onnx::AttributeProto_AttributeType_INT: return "INT";
    case onnx::AttributeProto_AttributeType_STRING: return "STRING";
    case onnx::AttributeProto_AttributeType_TENSOR: return "TENSOR";
    case onnx::AttributeProto_AttributeType_GRAPH: return "GRAPH";
    case onnx::AttributeProto_AttributeType_FLOATS: return "FLOATS";
    case onnx::AttributeProto_AttributeType_INTS: return "INTS";
    case onnx::AttributeProto_AttributeType_STRINGS: return "STRINGS";
    default: return "another type";
  }
}

void check_type(const NodeContext& ctx, const onnx::AttributeProto& a, int want) {
  if (a.type() != want) {
    ctx.fail("attribute '" + a.name() + "' has type " + attr_type_name(a.type()) + ", expected " +
             attr_type_name(want));
  }
}

}  // namespace

std::int64_t NodeContext::attr_int(const std::string& name, std::int64_t fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  check_type(*this, *a, onnx::AttributeProto_AttributeType_INT);
  return a->i();
}

float NodeContext::attr_float(const std::string& name, float fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  check_type(*this, *a, onnx::AttributeProto_AttributeType_FLOAT);
  return a->f();
}

std::string NodeContext::attr_string(const std::string& name, const std::string& fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  check_type(*this, *a, onnx::AttributeProto_AttributeType_STRING);
  return a->s();
}

std::optional<Dims> NodeContext::attr_ints(const std::string& name) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return std::nullopt;
  check_type(*this, *a, onnx::AttributeProto_AttributeType_INTS);
  return Dims(a->ints().begin(), a->ints().end());
}

std::optional<std::vector<float>> NodeContext::attr_floats(const std::string& name) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return std::nullopt;
  check_type(*this, *a, onnx::AttributeProto_AttributeType_FLOATS);
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

void NodeContext::refuse_attribute(const std::string& name, const std::string& why) const {
  unsupported("attribute '" + name + "': " + why);
}

int NodeContext::checked_int(std::int64_t v, const std::string& what, std::int64_t lo,
                             std::int64_t hi) const {
  if (v < lo || v > hi) {
    fail(what + " is " + std::to_string(v) + ", outside [" + std::to_string(lo) + ", " +
         std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

std::size_t NodeContext::axis(std::int64_t v, std::size_t rank, const std::string& what) const {
  const auto r = static_cast<std::int64_t>(rank);
  if (v < -r || v >= r) {
    fail(what + " " + std::to_string(v) + " is outside [" + std::to_string(-r) + ", " +
         std::to_string(r - 1) + "] for a rank-" + std::to_string(rank) + " tensor");
  }
  return static_cast<std::size_t>(v < 0 ? v + r : v);
}

const std::string& NodeContext::output_name(int i) const {
  if (i >= node_.output_size() || node_.output(i).empty()) fail("has no output " + std::to_string(i));
  return node_.output(i);
}

bool NodeContext::output_used(int i) const {
  return i < node_.output_size() && !node_.output(i).empty() && im_.uses(node_.output(i)) > 0;
}

void NodeContext::set_output(int i, Symbol s) {
  if (i >= node_.output_size() || node_.output(i).empty()) fail("has no output " + std::to_string(i));
  im_.define(node_.output(i), std::move(s), *this);
}

}  // namespace libscout::onnx_import
