#include "core/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace libscout {

Engine::Engine(const Graph& graph, Backend& primary, Backend* fallback, const ExecOptions& opts)
    : graph_(graph) {
  // 1. Placement: the requested backend wherever it supports the layer.
  std::vector<Backend*> owner(graph_.layers.size());
  for (std::size_t i = 0; i < graph_.layers.size(); ++i) {
    const Layer& l = graph_.layers[i];
    Support s = primary.supports(graph_, l);
    if (s.ok) {
      owner[i] = &primary;
      placements_.push_back({primary.name(), {}});
      continue;
    }
    if (fallback == nullptr || !fallback->supports(graph_, l).ok) {
      throw Error("backend '" + primary.name() + "' cannot run layer '" + l.name + "' (" +
                  op_name(l.op) + "): " + s.reason);
    }
    owner[i] = fallback;
    placements_.push_back({fallback->name(), s.reason});
  }

  // 2. Which values are read outside the segment that produces them.
  std::vector<int> segment_of(graph_.layers.size());
  int segments = 0;
  for (std::size_t i = 0; i < owner.size(); ++i) {
    if (i > 0 && owner[i] != owner[i - 1]) ++segments;
    segment_of[i] = segments;
  }
  std::vector<int> produced_in(graph_.values.size(), -1);
  for (std::size_t i = 0; i < graph_.layers.size(); ++i) {
    produced_in[graph_.layers[i].output] = segment_of[i];
  }
  std::vector<bool> exported(graph_.values.size(), false);
  for (ValueId o : graph_.outputs) exported[o] = true;
  for (std::size_t i = 0; i < graph_.layers.size(); ++i) {
    for (ValueId v : graph_.layers[i].inputs) {
      if (produced_in[v] != segment_of[i]) exported[v] = true;
    }
  }

  // 3. Prepare each segment (packing, layouts, algorithm choice: all outside timing).
  std::size_t workspace = 0;
  for (std::size_t begin = 0; begin < graph_.layers.size();) {
    std::size_t end = begin + 1;
    while (end < graph_.layers.size() && owner[end] == owner[begin]) ++end;
    SegmentSpec spec;
    spec.graph = &graph_;
    for (std::size_t i = begin; i < end; ++i) spec.layers.push_back(static_cast<LayerId>(i));
    spec.exported = exported;
    PreparedSegment ps{owner[begin], owner[begin]->prepare(spec, opts)};
    workspace = std::max(workspace, ps.segment->workspace_bytes());
    segments_.push_back(std::move(ps));
    begin = end;
  }
  workspace_ = allocate_floats((workspace + sizeof(float) - 1) / sizeof(float));
  plan_buffers();
}

Engine::~Engine() = default;

// Buffers are placed in one arena; two values share memory when their lifetimes (from the layer
// that writes them to the last layer that reads them) do not overlap. Greedy by size, largest
// first, as TFLite's arena planner does.
void Engine::plan_buffers() {
  const std::size_t nv = graph_.values.size();
  const int last = static_cast<int>(graph_.layers.size());
  std::vector<int> first_use(nv, -2), last_use(nv, -2);
  first_use[graph_.input] = -1;
  last_use[graph_.input] = -1;
  for (int i = 0; i < last; ++i) {
    const Layer& l = graph_.layers[i];
    first_use[l.output] = i;
    last_use[l.output] = std::max(last_use[l.output], i);
    for (ValueId v : l.inputs) last_use[v] = std::max(last_use[v], i);
  }
  // Outputs live to the end; so does the input, which repeated runs read again.
  for (ValueId o : graph_.outputs) last_use[o] = last;
  last_use[graph_.input] = last;

  constexpr std::size_t kAlignFloats = 16;  // 64 bytes
  auto padded = [](std::size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; };
  std::vector<ValueId> order;
  for (std::size_t v = 0; v < nv; ++v) {
    if (first_use[v] != -2) order.push_back(static_cast<ValueId>(v));
  }
  std::stable_sort(order.begin(), order.end(), [&](ValueId a, ValueId b) {
    return graph_.shape(a).elements() > graph_.shape(b).elements();
  });
  struct Placed {
    std::size_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  std::vector<std::size_t> offset(nv, 0);
  arena_floats_ = 0;
  for (ValueId v : order) {
    const std::size_t size = padded(graph_.shape(v).elements());
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed) {
      if (p.first <= last_use[v] && first_use[v] <= p.last) busy.push_back({p.offset, p.size});
    }
    std::sort(busy.begin(), busy.end());
    std::size_t at = 0;
    for (auto [off, sz] : busy) {
      if (at + size <= off) break;
      at = std::max(at, off + sz);
    }
    offset[v] = at;
    placed.push_back({at, size, first_use[v], last_use[v]});
    arena_floats_ = std::max(arena_floats_, at + size);
  }
  arena_ = allocate_floats(arena_floats_);
  buffers_.assign(nv, nullptr);
  for (ValueId v : order) buffers_[v] = arena_.get() + offset[v];
}

void Engine::set_input(const Tensor& t) {
  if (t.shape() != graph_.shape(graph_.input)) {
    throw Error("input shape " + t.shape().str() + " does not match the model's " +
                graph_.shape(graph_.input).str());
  }
  std::memcpy(input(), t.data(), t.size() * sizeof(float));
}

void Engine::run(LayerProfiler* profiler) {
  ExecContext ctx;
  ctx.graph = &graph_;
  ctx.buffers = buffers_;
  ctx.workspace = workspace_.get();
  ctx.profiler = profiler;
  for (PreparedSegment& s : segments_) s.segment->run(ctx);
}

double Engine::last_device_ms() const {
  double total = -1.0;
  for (const PreparedSegment& s : segments_) {
    const double ms = s.segment->last_device_ms();
    if (ms >= 0) total = std::max(total, 0.0) + ms;
  }
  return total;
}

Tensor Engine::output_tensor(int i) const {
  ValueId v = graph_.outputs.at(i);
  Tensor t(graph_.shape(v));
  std::memcpy(t.data(), buffers_[v], t.size() * sizeof(float));
  return t;
}

double relative_l2_error(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) throw Error("relative_l2_error: sizes differ");
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    diff += d * d;
    norm += static_cast<double>(b[i]) * b[i];
  }
  if (!std::isfinite(diff)) return std::numeric_limits<double>::infinity();
  if (norm == 0) return diff == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

}  // namespace libscout
