#include "backends/cudnn/cudnn_plan.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/error.h"

namespace libscout::cudnn {

Act to_act(Activation a) {
  switch (a) {
    case Activation::kRelu: return Act::kRelu;
    case Activation::kRelu6: return Act::kRelu6;
    case Activation::kNone: break;
  }
  return Act::kNone;
}

namespace {

// Ops whose implementation here writes through a batch-strided view: they can produce a concat's
// channel slice in place.
bool writes_strided(OpKind op) {
  switch (op) {
    case OpKind::kConv2d:
    case OpKind::kMaxPool:
    case OpKind::kAvgPool:
    case OpKind::kGlobalAvgPool:
    case OpKind::kRelu:
    case OpKind::kRelu6:
    case OpKind::kAdd:
    case OpKind::kBatchNorm: return true;
    default: return false;
  }
}

// The convolution's weights and bias with the batch norm applied (as core/passes.cpp folds it).
void fold_batch_norm(PlannedLayer& conv, const Layer& bn) {
  const BatchNormParams& s = bn.batch_norm();
  Tensor w = conv.weight().clone();
  Tensor b = conv.bias().empty() ? Tensor({1, w.shape().n, 1, 1}) : conv.bias().clone();
  const std::size_t per_out = w.shape().image_elements();
  for (int o = 0; o < w.shape().n; ++o) {
    const double scale = s.gamma[o] / std::sqrt(static_cast<double>(s.variance[o]) + s.epsilon);
    float* wo = w.data() + o * per_out;
    for (std::size_t j = 0; j < per_out; ++j) wo[j] = static_cast<float>(wo[j] * scale);
    b[o] = static_cast<float>((b[o] - s.mean[o]) * scale + s.beta[o]);
  }
  conv.folded_weight = std::move(w);
  conv.folded_bias = std::move(b);
}

}  // namespace

SegmentPlan::SegmentPlan(const SegmentSpec& spec, int prefix_layers) : graph_(spec.graph) {
  consumers_ = graph_->consumers();
  for (LayerId id : spec.layers) {
    PlannedLayer p;
    p.id = id;
    p.layer = &graph_->layers[id];
    p.activation = p.layer->activation();
    p.output = p.layer->output;
    layers_.push_back(std::move(p));
  }
  fuse(spec);
  alias(spec);
  pair_independent_convolutions(prefix_layers);
  place(spec, prefix_layers);
}

int SegmentPlan::index_of(LayerId id) const {
  for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
    if (layers_[i].id == id) return i;
  }
  return -1;
}

int SegmentPlan::producer_in_segment(ValueId v) const {
  for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
    if (layers_[i].runs && layers_[i].output == v) return i;
  }
  return -1;
}

// Batch norms into the convolution before them, activations into their producer, where nothing
// else reads the intermediate value (core/passes.cpp does the same at load; graphs built without
// those passes get it here).
void SegmentPlan::fuse(const SegmentSpec& spec) {
  for (PlannedLayer& l : layers_) {
    const OpKind op = l.layer->op;
    if (op != OpKind::kBatchNorm && op != OpKind::kRelu && op != OpKind::kRelu6) continue;
    const ValueId v = l.layer->inputs[0];
    if (consumers_[v].size() != 1 || spec.exported[v]) continue;
    const int pi = producer_in_segment(v);
    if (pi < 0) continue;
    PlannedLayer& p = layers_[pi];
    if (p.activation != Activation::kNone) continue;
    const OpKind pop = p.layer->op;
    if (op == OpKind::kBatchNorm) {
      if (pop != OpKind::kConv2d) continue;
      fold_batch_norm(p, *l.layer);
      l.absorbed = "folded into " + p.layer->name;
    } else {
      if (pop != OpKind::kConv2d && pop != OpKind::kFullyConnected && pop != OpKind::kAdd) continue;
      p.activation = op == OpKind::kRelu ? Activation::kRelu : Activation::kRelu6;
      l.absorbed = "fused into " + p.layer->name;
    }
    p.output = l.layer->output;
    l.runs = false;
  }
}

// Concat inputs become slices of the concat output (outer concats first, so nested ones chain);
// a flatten's output is its input seen as (N, C*H*W, 1, 1).
void SegmentPlan::alias(const SegmentSpec& spec) {
  const Graph& g = *graph_;
  root_.resize(g.values.size());
  offset_.assign(g.values.size(), 0);
  for (std::size_t v = 0; v < root_.size(); ++v) root_[v] = static_cast<ValueId>(v);
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    PlannedLayer& l = *it;
    if (l.layer->op != OpKind::kConcat) continue;
    const ValueId out = l.output;
    l.copy_input.assign(l.layer->inputs.size(), true);
    std::int64_t channel = 0;
    for (std::size_t k = 0; k < l.layer->inputs.size(); ++k) {
      const ValueId in = l.layer->inputs[k];
      const Shape s = g.shape(in);
      const int pi = producer_in_segment(in);
      const bool once = std::count(l.layer->inputs.begin(), l.layer->inputs.end(), in) == 1;
      if (pi >= 0 && writes_strided(layers_[pi].layer->op) && consumers_[in].size() == 1 &&
          once && !spec.exported[in] && root_[in] == in && in != g.input) {
        root_[in] = root_[out];
        offset_[in] = offset_[out] + channel * static_cast<std::int64_t>(s.plane());
        l.copy_input[k] = false;
        ++free_concat_inputs_;
      }
      channel += s.c;
    }
  }
  for (PlannedLayer& l : layers_) {
    if (l.layer->op != OpKind::kFlatten) continue;
    const ValueId in = l.layer->inputs[0];
    root_[l.output] = root_[in];
    offset_[l.output] = offset_[in];
    l.runs = false;
    l.absorbed = "a view of " + g.values[in].name + " (no copy)";
  }
}

// Consecutive convolutions where the second reads nothing the first writes (compared by storage,
// so concat slices count as their concat) pair up, without chains: (a, b), then (c, d).
void SegmentPlan::pair_independent_convolutions(int prefix_layers) {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    PlannedLayer& a = layers_[i];
    if (!a.runs || a.layer->op != OpKind::kConv2d) continue;
    std::size_t j = i + 1;
    while (j < layers_.size() && !layers_[j].runs) ++j;
    if (j == layers_.size() || layers_[j].layer->op != OpKind::kConv2d) continue;
    const int pi = static_cast<int>(i), pj = static_cast<int>(j);
    if (pi < prefix_layers && pj >= prefix_layers) continue;  // not across the prefix's end
    const PlannedLayer& b = layers_[j];
    const ValueId written = root_[a.output];
    if (root_[b.layer->inputs[0]] == written || root_[a.layer->inputs[0]] == root_[b.output]) {
      continue;
    }
    a.concurrent_with_next = true;
    ++concurrent_pairs_;
    i = j;
  }
}

// Lifetimes per storage root (first write to last read; downloads live to the end), then offsets
// in the arena: greedy by size, largest first, as the engine places its host buffers.
void SegmentPlan::place(const SegmentSpec& spec, int prefix_layers) {
  const Graph& g = *graph_;
  const std::size_t nv = g.values.size();
  std::vector<bool> produced(nv, false), materialized(nv, false);
  for (const PlannedLayer& l : layers_) produced[l.layer->output] = true;
  std::vector<int> first(nv, INT_MAX), last(nv, INT_MIN);
  const int end = static_cast<int>(layers_.size());
  for (int i = 0; i < end; ++i) {
    const PlannedLayer& l = layers_[i];
    const bool view_only = l.layer->op == OpKind::kFlatten;
    if (!l.runs && !view_only) continue;
    for (ValueId v : l.layer->inputs) {
      if (!produced[v] && std::find(uploads_.begin(), uploads_.end(), v) == uploads_.end()) {
        uploads_.push_back(v);
        materialized[v] = true;
        first[root_[v]] = -1;
      }
      last[root_[v]] = std::max(last[root_[v]], i);
    }
    materialized[l.output] = true;
    first[root_[l.output]] = std::min(first[root_[l.output]], i);
    last[root_[l.output]] = std::max(last[root_[l.output]], i);
  }
  // A concurrent pair runs as one step: the second's output lives from the first on, and the
  // first's inputs live until the second has run.
  for (int i = 0; i < end; ++i) {
    if (!layers_[i].concurrent_with_next) continue;
    int j = i + 1;
    while (!layers_[j].runs) ++j;
    first[root_[layers_[j].output]] = std::min(first[root_[layers_[j].output]], i);
    for (ValueId v : layers_[i].layer->inputs) last[root_[v]] = std::max(last[root_[v]], j);
  }
  // Uploaded values live to the end: with micro-batches, later parts of the input arrive while
  // the layers run on the first.
  for (ValueId v : uploads_) last[root_[v]] = end;
  // A value the prefix produces and the rest reads lives through the whole prefix: the prefix's
  // later micro-batches must not overwrite the parts that earlier ones left for the rest.
  for (int i = prefix_layers; i < end; ++i) {
    if (!layers_[i].runs && layers_[i].layer->op != OpKind::kFlatten) continue;
    for (ValueId v : layers_[i].layer->inputs) {
      if (first[root_[v]] < prefix_layers) first[root_[v]] = -1;
    }
  }
  for (std::size_t v = 0; v < nv; ++v) {
    if (!spec.exported[v] || !produced[v] || !materialized[v]) continue;
    downloads_.push_back(static_cast<ValueId>(v));
    last[root_[v]] = end;
    if (first[root_[v]] < prefix_layers) first[root_[v]] = -1;
  }
  std::vector<ValueId> roots;
  for (std::size_t v = 0; v < nv; ++v) {
    if (materialized[v] && root_[v] == static_cast<ValueId>(v)) roots.push_back(ValueId(v));
  }
  std::stable_sort(roots.begin(), roots.end(), [&](ValueId a, ValueId b) {
    return g.shape(a).elements() > g.shape(b).elements();
  });
  constexpr std::size_t kAlign = 64;  // floats: 256 bytes
  struct Placed {
    std::size_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  arena_offset_.assign(nv, 0);
  for (ValueId r : roots) {
    const std::size_t size = (g.shape(r).elements() + kAlign - 1) / kAlign * kAlign;
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed) {
      if (p.first <= last[r] && first[r] <= p.last) busy.emplace_back(p.offset, p.size);
    }
    std::sort(busy.begin(), busy.end());
    std::size_t at = 0;
    for (auto [off, sz] : busy) {
      if (at + size <= off) break;
      at = std::max(at, off + sz);
    }
    arena_offset_[r] = at;
    placed.push_back({at, size, first[r], last[r]});
    arena_floats_ = std::max(arena_floats_, at + size);
  }
}

DeviceView SegmentPlan::view(ValueId v, float* arena) const {
  const Shape s = graph_->shape(v);
  const ValueId r = root_[v];
  DeviceView d;
  d.base = arena + arena_offset_[r] + offset_[v];
  d.batch_stride = static_cast<std::int64_t>(graph_->shape(r).image_elements());
  d.n = s.n;
  d.c = s.c;
  d.h = s.h;
  d.w = s.w;
  return d;
}

}  // namespace libscout::cudnn
