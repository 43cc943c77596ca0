// The importer's walk over a model: opset, input, nodes in order, outputs; and the entry points.
#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "onnx/import_context.h"
#include "onnx/sha256.h"

namespace libscout {

namespace fs = std::filesystem;

namespace onnx_import {

namespace {

// Opsets 7 to 17 are what CNN exports use. Older models import too where every operator they
// use has, at their opset, the definition imported here: kFirstVersion says from which opset
// on (older forms had consumed_inputs, a shape attribute for Reshape, "paddings" for Pad, ...).
constexpr int kMinOpset = 1, kMaxOpset = 17;

int first_version(const std::string& op) {
  static const std::map<std::string, int> since = {
      {"Add", 6}, {"Sub", 6}, {"Mul", 6}, {"Div", 6}, {"Relu", 6}, {"Clip", 6},
      {"BatchNormalization", 6}, {"Dropout", 6}, {"Gemm", 6}, {"Cast", 6}, {"Reshape", 5},
      {"Concat", 4}, {"Pad", 2}};
  auto it = since.find(op);
  return it == since.end() ? 1 : it->second;
}

std::string known_operators(const ConverterTable& table) {
  std::string s;
  for (const auto& [op, unused] : table) s += (s.empty() ? "" : ", ") + op;
  return s;
}

// Errors from shared code (shape inference, tensor decoding) get the node's name in front.
template <typename E>
[[noreturn]] void rethrow_at(const NodeContext& ctx, const E& e) {
  const std::string what = e.what();
  if (what.rfind("node '", 0) == 0) throw e;
  throw E(ctx.where() + ": " + what);
}

}  // namespace

Importer::Importer(const onnx::ModelProto& model, const OnnxImportOptions& options,
                   std::string name, std::string folder)
    : model_(model), options_(options), folder_(std::move(folder)) {
  graph_.name = std::move(name);
  limit_ = options.memory_limit > 0 ? options.memory_limit : default_model_memory_limit();
  add_nn_converters(converters_);
  add_shape_converters(converters_);
  add_elementwise_converters(converters_);
}

const Symbol* Importer::find(const std::string& name) {
  if (auto it = symbols_.find(name); it != symbols_.end()) return &it->second;
  auto init = initializers_.find(name);
  if (init == initializers_.end()) return nullptr;
  Symbol s = decode(*init->second, "initializer '" + name + "'");
  return &symbols_.emplace(name, std::move(s)).first->second;
}

void Importer::define(const std::string& name, Symbol s, const NodeContext& ctx) {
  if (symbols_.count(name) || initializers_.count(name)) {
    ctx.fail("output '" + name + "' is already defined (ONNX values are assigned once)");
  }
  symbols_.emplace(name, std::move(s));
}

int Importer::uses(const std::string& name) const {
  auto it = uses_.find(name);
  return it == uses_.end() ? 0 : it->second;
}

Layer* Importer::producer(ValueId v) {
  for (Layer& l : graph_.layers) {
    if (l.output == v) return &l;
  }
  return nullptr;
}

Runtime Importer::add_layer(Layer layer, const std::string& name, const Dims& dims) {
  const ValueId out = static_cast<ValueId>(graph_.values.size());
  layer.output = out;
  graph_.values.push_back({name, {}, {}});
  try {
    const Shape s = infer_output_shape(graph_, layer);
    checked_count({s.n, s.c, s.h, s.w}, limit_ / sizeof(float), "output '" + name + "'");
    if (nchw_of(dims, "output '" + name + "'") != s) {
      throw Error("output '" + name + "' of shape " + dims_str(dims) + " does not match the " +
                  "layer's " + s.str() + " (importer error)");
    }
    graph_.values[out].shape = s;
  } catch (...) {
    graph_.values.pop_back();
    throw;
  }
  graph_.values[out].file_dims.assign(dims.begin(), dims.end());
  graph_.layers.push_back(std::move(layer));
  return Runtime{out, dims, std::nullopt};
}

Runtime Importer::add_layer_ranked(Layer layer, const std::string& name, std::size_t rank) {
  graph_.values.push_back({name, {}, {}});
  layer.output = static_cast<ValueId>(graph_.values.size() - 1);
  Shape s;
  try {
    s = infer_output_shape(graph_, layer);
  } catch (...) {
    graph_.values.pop_back();
    throw;
  }
  graph_.values.pop_back();
  return add_layer(std::move(layer), name, dims_of(s, rank));
}

ValueId Importer::view(ValueId x, const Shape& s, const std::string& name) {
  const Shape in = graph_.shape(x);
  if (in == s) return x;
  if (in.elements() != s.elements()) {
    throw Error("cannot view " + in.str() + " as " + s.str() + " (importer error)");
  }
  Layer l;
  l.name = name;
  l.inputs = {x};
  if (s.n == in.n && static_cast<std::size_t>(s.c) == in.image_elements() && s.h == 1 && s.w == 1) {
    l.op = OpKind::kFlatten;
  } else {
    l.op = OpKind::kReshape;
    l.params = ReshapeParams{s.c, s.h, s.w};
  }
  return add_layer(std::move(l), name, {s.n, s.c, s.h, s.w}).id;
}

void Importer::add_input() {
  const onnx::GraphProto& g = model_.graph();
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const onnx::ValueInfoProto& vi : g.input()) {
    if (!initializers_.count(vi.name())) inputs.push_back(&vi);
  }
  if (inputs.empty()) throw UnsupportedModel("the graph has no input that is not an initializer");
  if (inputs.size() > 1) {
    std::string names;
    for (const auto* vi : inputs) names += (names.empty() ? "'" : ", '") + vi->name() + "'";
    throw UnsupportedModel("the graph has " + std::to_string(inputs.size()) + " inputs (" + names +
                           "): libscout runs models with one input");
  }
  const onnx::ValueInfoProto& vi = *inputs[0];
  const std::string what = "input '" + vi.name() + "'";
  if (!vi.type().has_tensor_type()) throw UnsupportedModel(what + " is not a tensor");
  const int type = vi.type().tensor_type().elem_type();
  if (type != onnx::TensorProto_DataType_FLOAT) {
    throw UnsupportedModel(what + " has data type " + std::string(dtype_name(type)) +
                           ": libscout feeds float32 inputs");
  }
  const bool has_shape = vi.type().tensor_type().has_shape();
  const auto& shape = vi.type().tensor_type().shape();
  Dims dims;
  if (!options_.input_shape.empty()) {
    if (has_shape && shape.dim_size() != static_cast<int>(options_.input_shape.size())) {
      throw Error("--input-shape has " + std::to_string(options_.input_shape.size()) +
                  " dimensions, the model's " + what + " has " + std::to_string(shape.dim_size()));
    }
    dims.assign(options_.input_shape.begin(), options_.input_shape.end());
  } else {
    if (!has_shape) throw UnsupportedModel(what + " has no shape in the model: give --input-shape");
    for (int i = 0; i < shape.dim_size(); ++i) {
      const onnx::TensorShapeProto_Dimension& d = shape.dim(i);
      if (d.has_dim_value()) {
        if (d.dim_value() < 1) {
          throw Error(what + " has dimension " + std::to_string(d.dim_value()) + " at axis " +
                      std::to_string(i));
        }
        if (i == 0 && options_.batch != 1 && d.dim_value() != options_.batch) {
          throw Error(what + " fixes the batch to " + std::to_string(d.dim_value()) + ": --batch " +
                      std::to_string(options_.batch) + " needs a symbolic batch dimension "
                      "(or give --input-shape)");
        }
        dims.push_back(d.dim_value());
      } else if (i == 0) {
        dims.push_back(options_.batch);
      } else if (shape.dim_size() == 4 && i >= 2) {
        dims.push_back(options_.resolution);
      } else {
        throw UnsupportedModel(what + " has a symbolic dimension '" + d.dim_param() +
                               "' at axis " + std::to_string(i) + ": give --input-shape");
      }
    }
  }
  const Shape s = nchw_of(dims, what);
  checked_count(dims, limit_ / sizeof(float), what);
  graph_.values.push_back({vi.name(), s, std::vector<int>(dims.begin(), dims.end())});
  graph_.input = 0;
  symbols_.emplace(vi.name(), Runtime{0, dims, std::nullopt});
}

void Importer::convert_nodes() {
  for (const onnx::NodeProto& node : model_.graph().node()) {
    NodeContext ctx(*this, node, opset_);
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      ctx.unsupported("operator domain '" + node.domain() + "' (only the default ONNX domain is "
                      "imported)");
    }
    auto it = converters_.find(node.op_type());
    if (it == converters_.end()) {
      ctx.unsupported("operator " + node.op_type() + " is not supported (libscout imports " +
                      known_operators(converters_) + ")");
    }
    if (opset_ < first_version(node.op_type())) {
      ctx.unsupported(node.op_type() + " is imported from opset " +
                      std::to_string(first_version(node.op_type())) + " on");
    }
    try {
      it->second(ctx);
    } catch (const UnsupportedModel& e) {
      rethrow_at(ctx, e);
    } catch (const Error& e) {
      rethrow_at(ctx, e);
    }
  }
}

void Importer::set_outputs() {
  for (const onnx::ValueInfoProto& out : model_.graph().output()) {
    const std::string what = "graph output '" + out.name() + "'";
    const Symbol* s = find(out.name());
    if (s == nullptr) throw Error(what + " is not computed by any node");
    const auto* r = std::get_if<Runtime>(s);
    if (r == nullptr) throw UnsupportedModel(what + " is a constant: there is nothing to compute");
    if (r->pad) throw UnsupportedModel(what + " comes from a Pad that no Conv or pooling reads");
    ValueId id = r->id;
    const bool taken = std::find(graph_.outputs.begin(), graph_.outputs.end(), id) != graph_.outputs.end();
    if (id == graph_.input || taken) {
      // The identity (Identity, Dropout, a Reshape that moves nothing, ...): a copy computes it.
      const Shape s = graph_.shape(id);
      Layer copy;
      copy.name = out.name();
      copy.op = OpKind::kReshape;
      copy.inputs = {id};
      copy.params = ReshapeParams{s.c, s.h, s.w};
      id = add_layer(std::move(copy), out.name(), r->dims).id;
    }
    graph_.values[id].name = out.name();
    graph_.values[id].file_dims.assign(r->dims.begin(), r->dims.end());
    graph_.outputs.push_back(id);
  }
  if (graph_.outputs.empty()) throw UnsupportedModel("the graph has no output");
}

// Layers whose results no output needs (the importer emits only what nodes ask for, but a node
// may compute something that nothing reads).
void Importer::prune_unread_layers() {
  std::vector<bool> needed(graph_.values.size(), false);
  for (ValueId v : graph_.outputs) needed[v] = true;
  std::vector<Layer> kept;
  for (auto it = graph_.layers.rbegin(); it != graph_.layers.rend(); ++it) {
    if (!needed[it->output]) continue;
    for (ValueId v : it->inputs) needed[v] = true;
    kept.push_back(std::move(*it));
  }
  std::reverse(kept.begin(), kept.end());
  graph_.layers = std::move(kept);
}

Graph Importer::run() {
  for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = static_cast<int>(o.version());
  }
  if (opset_ == 0) throw Error("the model imports no opset of the default ONNX domain");
  if (opset_ < kMinOpset || opset_ > kMaxOpset) {
    throw UnsupportedModel("opset " + std::to_string(opset_) + " of the default domain: libscout "
                           "imports opsets up to " + std::to_string(kMaxOpset));
  }
  const onnx::GraphProto& g = model_.graph();
  if (g.sparse_initializer_size() > 0) throw UnsupportedModel("sparse initializers");
  for (const onnx::TensorProto& t : g.initializer()) {
    if (!initializers_.emplace(t.name(), &t).second) {
      throw Error("initializer '" + t.name() + "' is defined twice");
    }
  }
  for (const onnx::NodeProto& n : g.node()) {
    for (const std::string& in : n.input()) ++uses_[in];
  }
  for (const onnx::ValueInfoProto& o : g.output()) ++uses_[o.name()];
  add_input();
  convert_nodes();
  set_outputs();
  prune_unread_layers();
  if (graph_.layers.empty()) throw UnsupportedModel("the model computes nothing");
  return std::move(graph_);
}

}  // namespace onnx_import

bool onnx_supported() { return true; }

namespace {

Graph import_parsed(const void* data, std::size_t size,
                    const OnnxImportOptions& options, const std::string& name,
                    const std::string& folder) {
  const std::size_t limit =
      options.memory_limit > 0 ? options.memory_limit : default_model_memory_limit();
  if (size > limit) {
    throw Error(name + ": the model (" + onnx_import::bytes_str(size) + ") is larger than the "
                "memory limit of " + onnx_import::bytes_str(limit));
  }
  if (size > static_cast<std::size_t>(INT_MAX)) {
    throw UnsupportedModel(name + ": an ONNX file over 2 GiB must keep its weights as external data");
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(data, static_cast<int>(size))) {
    throw Error(name + ": not a valid ONNX model (the protobuf message does not parse)");
  }
  OnnxImportOptions charged = options;
  charged.memory_limit = limit - size;  // the file's bytes are held while it is imported
  onnx_import::Importer importer(model, charged, name, folder);
  Graph g;
  try {
    g = importer.run();
  } catch (const UnsupportedModel& e) {
    throw UnsupportedModel(name + ": " + e.what());
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  Sha256 hash;
  hash.update(data, size);
  for (const std::string& loc : importer.external_order()) {
    const std::string& content = importer.external_content(loc);
    hash.update(content.data(), content.size());
  }
  g.content_sha256 = hash.hex();
  return g;
}

}  // namespace

Graph import_onnx_bytes(const void* data, std::size_t size, const OnnxImportOptions& options,
                        const std::string& name, const std::string& folder) {
  return import_parsed(data, size, options, name, folder);
}

Graph import_onnx_file(const std::string& path, const OnnxImportOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("model file '" + path + "' not found");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error("cannot read the size of model file '" + path + "'");
  const std::size_t limit =
      options.memory_limit > 0 ? options.memory_limit : default_model_memory_limit();
  if (size > limit) {
    throw Error("model file '" + path + "' (" + onnx_import::bytes_str(size) + ") is larger "
                "than the memory limit of " + onnx_import::bytes_str(limit));
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::ifstream f(path, std::ios::binary);
  if (!f.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw Error("cannot read model file '" + path + "'");
  }
  const fs::path p(path);
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), options, path,
                              p.parent_path().empty() ? "." : p.parent_path().string());
  g.name = p.stem().string();
  g.source_path = path;
  return g;
}

}  // namespace libscout
