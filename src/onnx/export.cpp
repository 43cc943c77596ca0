// Graph -> ONNX ModelProto (opset 13). The graph's values are NCHW; the model keeps each value at
// the rank its producer gives it (4 for feature maps, 2 after Flatten and Gemm) and inserts a
// Flatten or Reshape where an op needs another rank.
#include <climits>
#include <fstream>
#include <set>

#include "core/error.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_proto.h"

namespace libscout {

namespace {

constexpr int kOpset = 13;

class Exporter {
 public:
  Exporter(const Graph& g, const OnnxExportOptions& o) : g_(g), o_(o), gp_(m_.mutable_graph()) {
    m_.set_ir_version(7);  // opset 13's IR version
    m_.set_producer_name("libscout");
    auto* opset = m_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    gp_->set_name(g.name);
    names_.resize(g.values.size());
    rank_.assign(g.values.size(), 4);
  }

  std::string run() {
    const Value& in = g_.values.at(g_.input);
    names_[g_.input] = unique(in.name);
    rank_[g_.input] = in.file_dims.empty() ? 4 : static_cast<int>(in.file_dims.size());
    add_value_info(gp_->add_input(), g_.input);
    for (const Layer& l : g_.layers) export_layer(l);
    for (ValueId v : g_.outputs) add_value_info(gp_->add_output(), v);
    if (m_.ByteSizeLong() > static_cast<std::size_t>(INT_MAX)) {
      throw Error("model '" + g_.name + "' is over 2 GiB, more than one ONNX file holds");
    }
    return m_.SerializeAsString();
  }

 private:
  std::string unique(std::string base) {
    if (base.empty()) base = "value";
    std::string name = base;
    for (int k = 1; !used_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }

  void add_value_info(onnx::ValueInfoProto* vi, ValueId v) {
    vi->set_name(names_[v]);
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    const Shape& s = g_.shape(v);
    const int dims[4] = {s.n, s.c, s.h, s.w};
    for (int i = 0; i < rank_[v]; ++i) {
      auto* d = t->mutable_shape()->add_dim();
      if (i == 0 && o_.symbolic_batch) d->set_dim_param("batch");
      else d->set_dim_value(dims[i]);
    }
  }

  std::string initializer(const std::string& base, std::vector<std::int64_t> dims, const float* data,
                          std::size_t count) {
    onnx::TensorProto* t = gp_->add_initializer();
    t->set_name(unique(base));
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data), count * sizeof(float)));
    return t->name();
  }

  std::string int64_initializer(const std::string& base, const std::vector<std::int64_t>& values) {
    onnx::TensorProto* t = gp_->add_initializer();
    t->set_name(unique(base));
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (std::int64_t v : values) t->add_int64_data(v);
    return t->name();
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = gp_->add_node();
    n->set_op_type(op);
    std::string node_name = name;
    for (int k = 1; !node_names_.insert(node_name).second; ++k) node_name = name + "_" + std::to_string(k);
    n->set_name(node_name);
    for (const std::string& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }

  static void attr(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> ints) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (std::int64_t v : ints) a->add_ints(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
  }

  // The ONNX name holding value v at rank 2 (Flatten) or 4 (Reshape to its NCHW shape).
  std::string at_rank(ValueId v, int rank, const std::string& user) {
    if (rank_[v] == rank) return names_[v];
    const std::string out = unique(names_[v] + "_rank" + std::to_string(rank));
    if (rank == 2) {
      attr(node("Flatten", user + "_flatten", {names_[v]}, out), "axis", 1);
    } else {
      const Shape& s = g_.shape(v);
      node("Reshape", user + "_reshape",
           {names_[v], int64_initializer(user + ".shape", {-1, s.c, s.h, s.w})}, out);
    }
    return out;
  }

  // The name of the node's output: the layer's output, or with a fused activation the input of
  // the activation node that add_activation() writes after it.
  std::string output_of(const Layer& l, Activation act, int rank) {
    rank_[l.output] = rank;
    names_[l.output] = unique(g_.values[l.output].name);
    return act == Activation::kNone ? names_[l.output] : unique(names_[l.output] + "_preact");
  }

  void add_activation(const Layer& l, Activation act, const std::string& pre) {
    if (act == Activation::kNone) return;
    if (act == Activation::kRelu) {
      node("Relu", l.name + "_relu", {pre}, names_[l.output]);
      return;
    }
    const float lo = 0.0f, hi = 6.0f;
    node("Clip", l.name + "_relu6",
         {pre, initializer(l.name + ".min", {}, &lo, 1), initializer(l.name + ".max", {}, &hi, 1)},
         names_[l.output]);
  }

  void export_conv(const Layer& l) {
    const Conv2dParams& p = l.conv();
    const Shape ws = l.weight.shape();
    std::vector<std::string> in = {at_rank(l.inputs[0], 4, l.name),
                                   initializer(l.name + ".weight", {ws.n, ws.c, ws.h, ws.w},
                                               l.weight.data(), l.weight.size())};
    if (!l.bias.empty()) in.push_back(initializer(l.name + ".bias", {ws.n}, l.bias.data(), l.bias.size()));
    const std::string out = output_of(l, p.activation, 4);
    onnx::NodeProto* n = node("Conv", l.name, in, out);
    attr(n, "kernel_shape", {p.kernel_h, p.kernel_w});
    attr(n, "strides", {p.stride_h, p.stride_w});
    attr(n, "dilations", {p.dilation_h, p.dilation_w});
    attr(n, "pads", {p.pad_top, p.pad_left, p.pad_bottom, p.pad_right});
    attr(n, "group", p.groups);
    add_activation(l, p.activation, out);
  }

  void export_pool(const Layer& l) {
    const Pool2dParams& p = l.pool();
    const bool is_max = l.op == OpKind::kMaxPool;
    onnx::NodeProto* n = node(is_max ? "MaxPool" : "AveragePool", l.name,
                              {at_rank(l.inputs[0], 4, l.name)}, output_of(l, Activation::kNone, 4));
    attr(n, "kernel_shape", {p.kernel_h, p.kernel_w});
    attr(n, "strides", {p.stride_h, p.stride_w});
    attr(n, "pads", {p.pad_h, p.pad_w, p.pad_bottom(), p.pad_right()});
    attr(n, "ceil_mode", p.ceil_mode ? 1 : 0);
    if (!is_max) attr(n, "count_include_pad", p.count_include_pad ? 1 : 0);
  }

  void export_batch_norm(const Layer& l) {
    const BatchNormParams& p = l.batch_norm();
    const std::int64_t c = static_cast<std::int64_t>(p.gamma.size());
    std::vector<std::string> in = {names_[l.inputs[0]]};
    in.push_back(initializer(l.name + ".scale", {c}, p.gamma.data(), p.gamma.size()));
    in.push_back(initializer(l.name + ".bias", {c}, p.beta.data(), p.beta.size()));
    in.push_back(initializer(l.name + ".mean", {c}, p.mean.data(), p.mean.size()));
    in.push_back(initializer(l.name + ".var", {c}, p.variance.data(), p.variance.size()));
    attr_float(node("BatchNormalization", l.name, in, output_of(l, Activation::kNone, rank_[l.inputs[0]])),
               "epsilon", p.epsilon);
  }

  void export_fully_connected(const Layer& l) {
    const Shape ws = l.weight.shape();
    std::vector<std::string> in = {at_rank(l.inputs[0], 2, l.name),
                                   initializer(l.name + ".weight", {ws.n, ws.c}, l.weight.data(),
                                               l.weight.size())};
    if (!l.bias.empty()) in.push_back(initializer(l.name + ".bias", {ws.n}, l.bias.data(), l.bias.size()));
    const std::string out = output_of(l, l.fc().activation, 2);
    attr(node("Gemm", l.name, in, out), "transB", 1);
    add_activation(l, l.fc().activation, out);
  }

  // Concat and Add: every input at one rank (4 unless all share another).
  std::vector<std::string> same_rank_inputs(const Layer& l) {
    int rank = rank_[l.inputs[0]];
    for (ValueId v : l.inputs) rank = rank_[v] == rank ? rank : 4;
    std::vector<std::string> in;
    for (ValueId v : l.inputs) in.push_back(at_rank(v, rank, l.name));
    rank_[l.output] = rank;
    return in;
  }

  void export_layer(const Layer& l) {
    const int in_rank = rank_[l.inputs.at(0)];
    switch (l.op) {
      case OpKind::kConv2d: return export_conv(l);
      case OpKind::kMaxPool:
      case OpKind::kAvgPool: return export_pool(l);
      case OpKind::kBatchNorm: return export_batch_norm(l);
      case OpKind::kFullyConnected: return export_fully_connected(l);
      case OpKind::kRelu:
        node("Relu", l.name, {names_[l.inputs[0]]}, output_of(l, Activation::kNone, in_rank));
        return;
      case OpKind::kRelu6:
        output_of(l, Activation::kNone, in_rank);
        add_activation(l, Activation::kRelu6, names_[l.inputs[0]]);
        return;
      case OpKind::kGlobalAvgPool:
        node("GlobalAveragePool", l.name, {at_rank(l.inputs[0], 4, l.name)}, output_of(l, Activation::kNone, 4));
        return;
      case OpKind::kConcat: {
        std::vector<std::string> in = same_rank_inputs(l);
        attr(node("Concat", l.name, in, output_of(l, Activation::kNone, rank_[l.output])), "axis", 1);
        return;
      }
      case OpKind::kAdd: {
        std::vector<std::string> in = same_rank_inputs(l);
        const std::string out = output_of(l, l.add().activation, rank_[l.output]);
        node("Add", l.name, in, out);
        add_activation(l, l.add().activation, out);
        return;
      }
      case OpKind::kSoftmax:  // over the channels, axis 1 at any rank (opset 13: one axis)
        attr(node("Softmax", l.name, {names_[l.inputs[0]]}, output_of(l, Activation::kNone, in_rank)),
             "axis", 1);
        return;
      case OpKind::kFlatten:
        attr(node("Flatten", l.name, {names_[l.inputs[0]]}, output_of(l, Activation::kNone, 2)), "axis", 1);
        return;
      case OpKind::kReshape: {
        const ReshapeParams& p = l.reshape();
        node("Reshape", l.name, {names_[l.inputs[0]], int64_initializer(l.name + ".shape", {-1, p.c, p.h, p.w})},
             output_of(l, Activation::kNone, 4));
        return;
      }
    }
    throw Error("export: layer '" + l.name + "' has an op without an ONNX form");
  }

  const Graph& g_;
  OnnxExportOptions o_;
  onnx::ModelProto m_;
  onnx::GraphProto* gp_;
  std::vector<std::string> names_;
  std::vector<int> rank_;
  std::set<std::string> used_, node_names_;
};

}  // namespace

std::string export_onnx_bytes(const Graph& g, const OnnxExportOptions& options) {
  return Exporter(g, options).run();
}

void export_onnx_file(const Graph& g, const std::string& path, const OnnxExportOptions& options) {
  const std::string bytes = export_onnx_bytes(g, options);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !f.flush()) {
    throw Error("cannot write '" + path + "'");
  }
}

}  // namespace libscout
