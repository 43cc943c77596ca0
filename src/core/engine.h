// The engine: maps each layer of a graph to a backend (the requested one where it supports the
// layer, a fallback otherwise, or the backend a per-layer plan names), groups consecutive layers
// of one backend into segments, prepares them, plans and reuses value buffers, and runs the whole
// graph. Values cross segment boundaries in NCHW: each segment converts what it reads and writes
// there, inside its own run(), so a boundary's conversions are timed with the segments around it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/graph.h"

namespace libscout {

struct LayerPlacement {
  std::string backend;          // which backend runs the layer
  std::string fallback_reason;  // why the requested backend did not take it; empty if it did
};

// The placement name of a concat that the engine does in place (LayerAssignment::in_place).
inline constexpr const char* kInPlaceConcat = "in-place";

// True when the engine can do concat layer `l` in place: its producers write their outputs
// straight into their channel slices of its output, which are contiguous in NCHW at batch 1, so
// the concat costs nothing. Each input must be produced by a layer, read by nothing else, and not
// be an output of the graph.
bool can_concat_in_place(const Graph& g, const Layer& l);

// One layer's place in an explicit placement (a per-layer plan).
struct LayerAssignment {
  Backend* backend = nullptr;  // null for an in-place concat
  std::string fallback_reason;  // recorded in placements(); empty for a planned layer
  // Start a new segment at this layer even when the previous layer runs on the same backend
  // (the planner uses it to time a layer with its boundary conversions).
  bool new_segment = false;
  // A concat done by the engine in place (can_concat_in_place): no backend runs it; the segments
  // that produce its inputs write them, in NCHW, into their slices of its output.
  bool in_place = false;
};

class Engine {
 public:
  // `graph` and the backends must outlive the engine. `fallback` may be null: then every layer
  // must be supported by `primary`, else Error is thrown naming the layer and the reason.
  Engine(const Graph& graph, Backend& primary, Backend* fallback, const ExecOptions& opts);
  // Every layer on the backend `placement` names (one entry per layer, in order). Throws Error
  // naming the layer when its backend does not support it.
  Engine(const Graph& graph, const std::vector<LayerAssignment>& placement,
         const ExecOptions& opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Graph& graph() const { return graph_; }
  const std::vector<LayerPlacement>& placements() const { return placements_; }
  int segment_count() const { return static_cast<int>(segments_.size()); }
  // The layers [first, end) of segment i.
  std::pair<LayerId, LayerId> segment_layers(int i) const {
    return {segments_.at(i).first, segments_.at(i).end};
  }

  // NCHW input of graph().shape(graph().input).
  float* input() { return buffers_[graph_.input]; }
  void set_input(const Tensor& t);
  // Runs the graph once. With a profiler, segments mark each layer's begin and end.
  void run(LayerProfiler* profiler = nullptr);
  // Runs the graph once and writes each segment's wall time in milliseconds to `segment_ms`
  // (segment_count() entries).
  void run_timing_segments(std::vector<double>& segment_ms);
  const float* output(int i) const { return buffers_[graph_.outputs.at(i)]; }
  Tensor output_tensor(int i) const;

  std::size_t arena_bytes() const { return arena_floats_ * sizeof(float); }
  // Sum of the device times of the last run()'s GPU segments (Segment::last_device_ms); negative
  // when every segment ran on the CPU.
  double last_device_ms() const;

 private:
  struct PreparedSegment {
    Backend* backend = nullptr;
    std::unique_ptr<Segment> segment;
    LayerId first = 0, end = 0;
  };
  void prepare_segments(const std::vector<LayerAssignment>& placement, const ExecOptions& opts);
  void plan_buffers(const std::vector<LayerAssignment>& placement);
  ExecContext context(LayerProfiler* profiler);

  const Graph& graph_;
  std::vector<LayerPlacement> placements_;
  std::vector<PreparedSegment> segments_;
  std::unique_ptr<float[], AlignedFree> arena_;
  std::size_t arena_floats_ = 0;
  std::unique_ptr<float[], AlignedFree> workspace_;
  std::vector<float*> buffers_;
};

// Relative L2 error ||a - b|| / ||b||, accumulated in double (b is the reference).
double relative_l2_error(std::span<const float> a, std::span<const float> b);

}  // namespace libscout
