#include "core/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace libscout {

namespace {

// The requested backend wherever it supports the layer, the fallback elsewhere; the concats of a
// backend that asks for it (Backend::concat_in_place) done in place.
std::vector<LayerAssignment> assign(const Graph& graph, Backend& primary, Backend* fallback) {
  std::vector<LayerAssignment> placement;
  for (const Layer& l : graph.layers) {
    Support s = primary.supports(graph, l);
    if (s.ok && primary.concat_in_place() && can_concat_in_place(graph, l)) {
      placement.push_back({nullptr, {}, false, true});
      continue;
    }
    if (s.ok) {
      placement.push_back({&primary, {}, false});
      continue;
    }
    if (fallback == nullptr || !fallback->supports(graph, l).ok) {
      throw Error("backend '" + primary.name() + "' cannot run layer '" + l.name + "' (" +
                  op_name(l.op) + "): " + s.reason);
    }
    placement.push_back({fallback, s.reason, false});
  }
  return placement;
}

}  // namespace

Engine::Engine(const Graph& graph, Backend& primary, Backend* fallback, const ExecOptions& opts)
    : Engine(graph, assign(graph, primary, fallback), opts) {}

Engine::Engine(const Graph& graph, const std::vector<LayerAssignment>& placement,
               const ExecOptions& opts)
    : graph_(graph) {
  if (placement.size() != graph_.layers.size()) {
    throw Error("a placement of " + std::to_string(placement.size()) + " layers for a graph of " +
                std::to_string(graph_.layers.size()));
  }
  for (std::size_t i = 0; i < placement.size(); ++i) {
    const Layer& l = graph_.layers[i];
    Backend* b = placement[i].backend;
    if (placement[i].in_place) {
      if (!can_concat_in_place(graph_, l)) {
        throw Error("layer '" + l.name + "' (" + op_name(l.op) + ") cannot be done in place: "
                    "only a concat at batch 1 whose inputs nothing else reads can");
      }
      placements_.push_back({kInPlaceConcat, {}});
      continue;
    }
    if (b == nullptr) throw Error("layer '" + l.name + "' has no backend");
    if (placement[i].fallback_reason.empty()) {
      if (Support s = b->supports(graph_, l); !s.ok) {
        throw Error("backend '" + b->name() + "' cannot run layer '" + l.name + "' (" +
                    op_name(l.op) + "): " + s.reason);
      }
    }
    placements_.push_back({b->name(), placement[i].fallback_reason});
  }
  prepare_segments(placement, opts);
  plan_buffers(placement);
}

// Segments are the runs of consecutive layers on one backend. Each is told which of the values it
// produces are read outside it (exported: written in NCHW), then prepared (packing, layouts,
// algorithm choice: all outside timing).
void Engine::prepare_segments(const std::vector<LayerAssignment>& placement,
                              const ExecOptions& opts) {
  const std::size_t n = graph_.layers.size();
  // An in-place concat is a segment of its own that nothing prepares or runs: the values it
  // reads are then exported (written in NCHW into their slices) and the one it writes imported.
  auto starts_segment = [&](std::size_t i) {
    return i == 0 || placement[i].new_segment || placement[i].in_place ||
           placement[i - 1].in_place || placement[i].backend != placement[i - 1].backend;
  };
  std::vector<int> segment_of(n);
  int segments = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (starts_segment(i)) ++segments;
    segment_of[i] = segments;
  }
  std::vector<int> produced_in(graph_.values.size(), -1);
  for (std::size_t i = 0; i < n; ++i) produced_in[graph_.layers[i].output] = segment_of[i];
  std::vector<bool> exported(graph_.values.size(), false);
  for (ValueId o : graph_.outputs) exported[o] = true;
  for (std::size_t i = 0; i < n; ++i) {
    for (ValueId v : graph_.layers[i].inputs) {
      if (produced_in[v] != segment_of[i]) exported[v] = true;
    }
  }

  std::size_t workspace = 0;
  for (std::size_t begin = 0; begin < n;) {
    std::size_t end = begin + 1;
    while (end < n && !starts_segment(end)) ++end;
    SegmentSpec spec;
    spec.graph = &graph_;
    for (std::size_t i = begin; i < end; ++i) spec.layers.push_back(static_cast<LayerId>(i));
    spec.exported = exported;
    if (placement[begin].in_place) {
      begin = end;
      continue;
    }
    Backend* b = placement[begin].backend;
    PreparedSegment ps{b, b->prepare(spec, opts), static_cast<LayerId>(begin),
                       static_cast<LayerId>(end)};
    workspace = std::max(workspace, ps.segment->workspace_bytes());
    segments_.push_back(std::move(ps));
    begin = end;
  }
  workspace_ = allocate_floats((workspace + sizeof(float) - 1) / sizeof(float));
}

Engine::~Engine() = default;

bool can_concat_in_place(const Graph& g, const Layer& l) {
  if (l.op != OpKind::kConcat) return false;
  const std::vector<std::vector<LayerId>> readers = g.consumers();
  std::vector<bool> seen(g.values.size(), false);
  for (ValueId v : l.inputs) {
    if (v == g.input || seen[v] || readers[v].size() != 1) return false;
    if (std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end()) return false;
    seen[v] = true;
  }
  return g.shape(l.output).n == 1;
}

namespace {

// Where a value lives inside another one's buffer: the inputs of an in-place concat in its
// output (chains of them resolved to the outermost), at a float offset. root == v otherwise.
struct Alias {
  ValueId root = -1;
  std::size_t offset = 0;
};

std::vector<Alias> concat_aliases(const Graph& g, const std::vector<LayerAssignment>& placement) {
  std::vector<Alias> alias(g.values.size());
  for (std::size_t v = 0; v < alias.size(); ++v) alias[v].root = static_cast<ValueId>(v);
  // Later concats first, so that an inner concat's output already knows its place.
  for (std::size_t i = g.layers.size(); i-- > 0;) {
    if (!placement[i].in_place) continue;
    const Layer& l = g.layers[i];
    std::size_t offset = alias[l.output].offset;
    for (ValueId v : l.inputs) {
      alias[v] = {alias[l.output].root, offset};
      offset += g.shape(v).elements();
    }
  }
  return alias;
}

}  // namespace

// Buffers are placed in one arena; two values share memory when their lifetimes (from the layer
// that writes them to the last layer that reads them) do not overlap. Greedy by size, largest
// first, as TFLite's arena planner does. The inputs of an in-place concat live inside its output,
// whose lifetime then covers theirs.
void Engine::plan_buffers(const std::vector<LayerAssignment>& placement) {
  const std::size_t nv = graph_.values.size();
  const int last = static_cast<int>(graph_.layers.size());
  const std::vector<Alias> alias = concat_aliases(graph_, placement);
  std::vector<int> first_use(nv, -2), last_use(nv, -2);
  auto use = [&](ValueId v, int at) {
    const ValueId r = alias[v].root;
    first_use[r] = first_use[r] == -2 ? at : std::min(first_use[r], at);
    last_use[r] = std::max(last_use[r], at);
  };
  use(graph_.input, -1);
  for (int i = 0; i < last; ++i) {
    const Layer& l = graph_.layers[i];
    use(l.output, i);
    for (ValueId v : l.inputs) use(v, i);
  }
  // Outputs live to the end; so does the input, which repeated runs read again.
  for (ValueId o : graph_.outputs) use(o, last);
  use(graph_.input, last);

  constexpr std::size_t kAlignFloats = 16;  // 64 bytes
  auto padded = [](std::size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; };
  std::vector<ValueId> order;
  for (std::size_t v = 0; v < nv; ++v) {
    if (first_use[v] != -2 && alias[v].root == static_cast<ValueId>(v)) order.push_back(static_cast<ValueId>(v));
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
  for (std::size_t v = 0; v < nv; ++v) {
    const ValueId r = alias[v].root;
    if (r != static_cast<ValueId>(v) && buffers_[r] != nullptr) buffers_[v] = buffers_[r] + alias[v].offset;
  }
}

void Engine::set_input(const Tensor& t) {
  if (t.shape() != graph_.shape(graph_.input)) {
    throw Error("input shape " + t.shape().str() + " does not match the model's " +
                graph_.shape(graph_.input).str());
  }
  std::memcpy(input(), t.data(), t.size() * sizeof(float));
}

ExecContext Engine::context(LayerProfiler* profiler) {
  ExecContext ctx;
  ctx.graph = &graph_;
  ctx.buffers = buffers_;
  ctx.workspace = workspace_.get();
  ctx.profiler = profiler;
  return ctx;
}

void Engine::run(LayerProfiler* profiler) {
  const ExecContext ctx = context(profiler);
  for (PreparedSegment& s : segments_) s.segment->run(ctx);
}

void Engine::run_timing_segments(std::vector<double>& segment_ms) {
  using Clock = std::chrono::steady_clock;
  const ExecContext ctx = context(nullptr);
  segment_ms.assign(segments_.size(), 0.0);
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto t0 = Clock::now();
    segments_[i].segment->run(ctx);
    segment_ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
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
