#include "core/passes.h"

#include <cmath>

namespace libscout {

namespace {

bool is_graph_output(const Graph& g, ValueId v) {
  for (ValueId o : g.outputs) {
    if (o == v) return true;
  }
  return false;
}

// Index of the layer producing v, or -1.
LayerId producer_of(const Graph& g, ValueId v) {
  for (LayerId i = 0; i < static_cast<LayerId>(g.layers.size()); ++i) {
    if (g.layers[i].output == v) return i;
  }
  return -1;
}

// Whether `layer` is the only reader of its first input and that input is internal.
bool sole_reader(const Graph& g, const std::vector<std::vector<LayerId>>& consumers,
                 const Layer& layer) {
  ValueId v = layer.inputs.at(0);
  return consumers[v].size() == 1 && !is_graph_output(g, v);
}

}  // namespace

int fold_batch_norms(Graph& g) {
  int folded = 0;
  auto consumers = g.consumers();
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    Layer& bn = g.layers[i];
    if (bn.op != OpKind::kBatchNorm || !sole_reader(g, consumers, bn)) continue;
    LayerId p = producer_of(g, bn.inputs[0]);
    if (p < 0) continue;
    Layer& conv = g.layers[p];
    if (conv.op != OpKind::kConv2d || conv.conv().activation != Activation::kNone) continue;

    const BatchNormParams& s = bn.batch_norm();
    const Shape ws = conv.weight.shape();
    if (conv.bias.empty()) conv.bias = Tensor({1, ws.n, 1, 1});
    const std::size_t per_out = ws.image_elements();
    for (int o = 0; o < ws.n; ++o) {
      const double scale = s.gamma[o] / std::sqrt(static_cast<double>(s.variance[o]) + s.epsilon);
      float* w = conv.weight.data() + o * per_out;
      for (std::size_t j = 0; j < per_out; ++j) w[j] = static_cast<float>(w[j] * scale);
      conv.bias[o] = static_cast<float>((conv.bias[o] - s.mean[o]) * scale + s.beta[o]);
    }
    conv.output = bn.output;
    g.layers.erase(g.layers.begin() + static_cast<std::ptrdiff_t>(i));
    --i;
    ++folded;
    consumers = g.consumers();
  }
  return folded;
}

int fuse_activations(Graph& g) {
  int fused = 0;
  auto consumers = g.consumers();
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    Layer& act = g.layers[i];
    if (act.op != OpKind::kRelu && act.op != OpKind::kRelu6) continue;
    if (!sole_reader(g, consumers, act)) continue;
    LayerId p = producer_of(g, act.inputs[0]);
    if (p < 0) continue;
    Layer& prod = g.layers[p];
    Activation* slot = nullptr;
    if (auto* c = std::get_if<Conv2dParams>(&prod.params)) slot = &c->activation;
    if (auto* f = std::get_if<FullyConnectedParams>(&prod.params)) slot = &f->activation;
    if (auto* a = std::get_if<AddParams>(&prod.params)) slot = &a->activation;
    if (slot == nullptr || *slot != Activation::kNone) continue;
    *slot = act.op == OpKind::kRelu ? Activation::kRelu : Activation::kRelu6;
    prod.output = act.output;
    g.layers.erase(g.layers.begin() + static_cast<std::ptrdiff_t>(i));
    --i;
    ++fused;
    consumers = g.consumers();
  }
  return fused;
}

void compact_values(Graph& g) {
  std::vector<bool> used(g.values.size(), false);
  used[g.input] = true;
  for (const Layer& l : g.layers) {
    used[l.output] = true;
    for (ValueId v : l.inputs) used[v] = true;
  }
  std::vector<ValueId> remap(g.values.size(), -1);
  std::vector<Value> kept;
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    if (!used[v]) continue;
    remap[v] = static_cast<ValueId>(kept.size());
    kept.push_back(std::move(g.values[v]));
  }
  g.values = std::move(kept);
  g.input = remap[g.input];
  for (ValueId& o : g.outputs) o = remap[o];
  for (Layer& l : g.layers) {
    l.output = remap[l.output];
    for (ValueId& v : l.inputs) v = remap[v];
  }
}

void optimize_for_inference(Graph& g) {
  fold_batch_norms(g);
  fuse_activations(g);
  compact_values(g);
  g.infer_shapes();
}

}  // namespace libscout
