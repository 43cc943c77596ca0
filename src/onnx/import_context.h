// The importer's state while it walks an ONNX graph, shared by the operator converters
// (import_nn.cpp, import_shape.cpp, import_elementwise.cpp). Internal to src/onnx/.
//
// Every ONNX value is either a Constant (initializers, Constant nodes and everything computed
// from constants alone: folded at load) or a Runtime value (computed by the engine's layers).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/graph.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_proto.h"

namespace libscout::onnx_import {

using Dims = std::vector<std::int64_t>;

// ONNX tensors of these types are imported; others are refused by name.
enum class DType { kFloat, kInt64 };

struct Constant {
  DType type = DType::kFloat;
  Dims dims;
  std::vector<float> f;         // kFloat
  std::vector<std::int64_t> i;  // kInt64
  std::size_t count() const { return type == DType::kFloat ? f.size() : i.size(); }
  double at(std::size_t k) const { return type == DType::kFloat ? f[k] : double(i[k]); }
};

// A zero Pad waiting for the convolution or average pooling that reads it (begin and end of
// each spatial axis).
struct PendingPad {
  std::vector<int> begin, end;
};

struct Runtime {
  ValueId id = -1;
  Dims dims;                      // as the file states them (rank 1 to 4)
  std::optional<PendingPad> pad;  // set: `id` is the unpadded input, `dims` the padded shape
};

using Symbol = std::variant<Constant, Runtime>;

// Product of `dims` with overflow and range checks: an Error when it is over `limit`, or for an
// empty tensor when its non-zero dimensions' product is (so that every product of some of the
// dimensions of a checked tensor is at most `limit`).
std::size_t checked_count(const Dims& dims, std::size_t limit, const std::string& what);
// The engine's NCHW shape of a tensor of rank 0 to 4 (trailing dimensions 1).
Shape nchw_of(const Dims& dims, const std::string& what);
std::string dims_str(const Dims& dims);  // "[1, 3, 224, 224]"
std::string bytes_str(std::uint64_t bytes);  // "600 bytes", "12.5 MiB"
const char* dtype_name(int onnx_type);
// The first `rank` dimensions of an NCHW shape (the rest must be 1).
Dims dims_of(const Shape& s, std::size_t rank);
// Product of dims[begin, end) of an already validated shape.
std::int64_t span_product(const Dims& dims, std::size_t begin, std::size_t end);
// A float Constant as a tensor of `shape` (same element count).
Tensor tensor_of(const Constant& c, Shape shape);

class Importer;

// One node being converted: its inputs, attributes and outputs, and errors that name it.
class NodeContext {
 public:
  NodeContext(Importer& im, const onnx::NodeProto& node, int opset);

  const onnx::NodeProto& node() const { return node_; }
  const std::string& op() const { return node_.op_type(); }
  const std::string& output_name(int i = 0) const;  // Error when the node has no such output
  int opset() const { return opset_; }
  Importer& importer() { return im_; }
  std::string name() const;  // the node's name, else its first output's

  // Inputs: an empty name is an omitted optional input.
  int input_count() const { return node_.input_size(); }
  bool has_input(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  void expect_inputs(int min, int max) const;
  bool is_constant(int i) const;
  const Constant& constant(int i) const;  // Error when absent or computed at run time
  const Runtime& runtime(int i) const;    // Error when constant or a pending Pad
  const Runtime& runtime_maybe_padded(int i) const;
  const Symbol& symbol(int i) const;

  // Attributes, type-checked.
  const onnx::AttributeProto* attribute(const std::string& name) const;
  std::int64_t attr_int(const std::string& name, std::int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::optional<Dims> attr_ints(const std::string& name) const;
  std::optional<std::vector<float>> attr_floats(const std::string& name) const;
  void refuse_attribute(const std::string& name, const std::string& why) const;
  // An integer attribute value (or one read from an input) checked to lie in [lo, hi].
  int checked_int(std::int64_t v, const std::string& what, std::int64_t lo, std::int64_t hi) const;
  // An axis in [-rank, rank) (or [0, rank] and the like, per `rank`) as an index in [0, rank).
  std::size_t axis(std::int64_t v, std::size_t rank, const std::string& what) const;

  // Outputs. Only outputs that something reads are defined; unread extra outputs are dropped.
  int output_count() const { return node_.output_size(); }
  bool output_used(int i) const;
  void set_output(int i, Symbol s);

  // "node 'conv1' (Conv, opset 13): <what>"
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void unsupported(const std::string& what) const;
  std::string where() const;

 private:
  Importer& im_;
  const onnx::NodeProto& node_;
  int opset_;
};

using Converter = std::function<void(NodeContext&)>;
using ConverterTable = std::map<std::string, Converter>;

void add_nn_converters(ConverterTable& table);          // import_nn.cpp
// x + c or x * c for a float constant c that broadcasts to x, as a per-channel affine layer
// (the engine's batch norm with mean 0, variance 1, epsilon 0) on a view of x in which c's
// dimensions are the channels. `x_name` is x's ONNX name when x is a node input: an addition
// onto a fully connected layer without bias that nothing else reads becomes its bias.
Runtime apply_constant(NodeContext& ctx, const Runtime& x, const std::string& x_name,
                       const Constant& c, bool multiply);
void add_shape_converters(ConverterTable& table);       // import_shape.cpp
void add_elementwise_converters(ConverterTable& table); // import_elementwise.cpp

// Graph building and the symbol table, shared by the converters.
class Importer {
 public:
  Importer(const onnx::ModelProto& model, const OnnxImportOptions& options, std::string name,
           std::string folder);
  Graph run();

  const Symbol* find(const std::string& name);  // decodes an initializer on first use
  void define(const std::string& name, Symbol s, const NodeContext& ctx);
  int uses(const std::string& name) const;  // how many node inputs and graph outputs read it

  // Appends `layer` reading runtime values, with its output named `name`; returns the output
  // with `dims` (the file's shape, whose NCHW form must match the layer's output).
  Runtime add_layer(Layer layer, const std::string& name, const Dims& dims);
  // The same with the file's shape taken from the layer's output: its first `rank` dimensions.
  Runtime add_layer_ranked(Layer layer, const std::string& name, std::size_t rank);
  // `x` seen as `shape` (same element count): `x` itself when its shape already is, else a
  // flatten or reshape layer.
  ValueId view(ValueId x, const Shape& shape, const std::string& name);
  // The layer producing `v`, or nullptr.
  Layer* producer(ValueId v);
  const Graph& graph() const { return graph_; }

  Constant decode(const onnx::TensorProto& t, const std::string& what);
  // The external data files read, in the order first read, and their content (the SHA-256
  // of a model covers them after the model file).
  const std::vector<std::string>& external_order() const { return external_order_; }
  const std::string& external_content(const std::string& loc) { return external_files_[loc]; }
  std::size_t limit() const { return limit_; }
  // Error past the memory limit. Byte counts are 64-bit whatever size_t is (32 bits on armhf),
  // so that a hostile file's sizes cannot wrap them.
  void charge(std::uint64_t bytes, const std::string& what);

 private:
  void add_input();
  void convert_nodes();
  void set_outputs();
  void prune_unread_layers();
  const std::string& read_external(const std::string& location, const std::string& what);

  const onnx::ModelProto& model_;
  OnnxImportOptions options_;
  std::string folder_;
  Graph graph_;
  std::size_t limit_ = 0;
  std::uint64_t charged_ = 0;
  int opset_ = 0;
  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::map<std::string, Symbol> symbols_;
  std::map<std::string, int> uses_;
  std::map<std::string, std::string> external_files_;  // location -> content
  std::vector<std::string> external_order_;
  ConverterTable converters_;
};

}  // namespace libscout::onnx_import
