// The interface every backend implements. A backend is one folder under src/backends/ and one
// registration line in src/backends/registry.cpp.
//
// Lifecycle (XNNPACK's): the engine asks supports() for each layer, groups consecutive layers that
// the backend takes into a segment, and calls prepare() once per segment. prepare() does
// everything that a real application does once: packing weights, converting their layout,
// choosing algorithms, sizing workspaces. Only Segment::run() is timed.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/graph.h"

namespace libscout {

struct ExecOptions {
  int threads = 1;
  // GPU backends: capture one inference into a CUDA graph in prepare() and replay it.
  bool cuda_graph = true;
  // GPU backends: let FP32 convolutions and GEMMs use TF32 tensor cores (off: IEEE FP32 math).
  bool allow_tf32 = false;
};

// Where a backend's layers run: decides which power meter can see its work.
enum class DeviceKind { kCpu, kGpu };
inline const char* device_kind_name(DeviceKind d) {
  return d == DeviceKind::kGpu ? "gpu" : "cpu";
}

// Answer to "can you run this layer?"; `reason` says why not, for the per-layer table.
struct Support {
  bool ok = true;
  std::string reason;
  static Support yes() { return {}; }
  static Support no(std::string why) { return {false, std::move(why)}; }
};

// Receives per-layer timing marks. Segments call begin/end around each layer they run when a
// profiler is attached (--per-layer); ordinary runs pass nullptr and pay one branch per layer.
class LayerProfiler {
 public:
  virtual ~LayerProfiler() = default;
  virtual void begin(LayerId layer) = 0;
  virtual void end(LayerId layer) = 0;
};

// What a segment sees when it runs: every value of the graph has a buffer of its full NCHW size
// (graph.shape(v).elements() floats), planned and reused by the engine. A segment reads the
// values its layers consume from outside the segment and must write, in NCHW, every value that
// is read outside it (the engine tells it which: Segment::exported). Values internal to a segment
// may stay in the backend's own layout and buffers.
struct ExecContext {
  const Graph* graph = nullptr;
  std::span<float* const> buffers;  // indexed by ValueId
  float* workspace = nullptr;       // Segment::workspace_bytes() bytes, 64-byte aligned
  LayerProfiler* profiler = nullptr;

  float* data(ValueId v) const { return buffers[v]; }
  const Shape& shape(ValueId v) const { return graph->shape(v); }
};

class Segment {
 public:
  virtual ~Segment() = default;
  // Scratch memory shared by all segments, which run one at a time.
  virtual std::size_t workspace_bytes() const { return 0; }
  virtual void run(const ExecContext& ctx) = 0;
  // Device time of the last run() in milliseconds, measured on the device (CUDA events) from the
  // first upload to the last download; negative for segments that run on the CPU.
  virtual double last_device_ms() const { return -1.0; }
};

// What the engine hands to prepare(): the layers (consecutive in topological order) and, for each
// value they produce, whether a layer outside the segment or the caller reads it.
struct SegmentSpec {
  const Graph* graph = nullptr;
  std::vector<LayerId> layers;
  std::vector<bool> exported;  // indexed by ValueId
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Support supports(const Graph& g, const Layer& layer) const = 0;
  virtual std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) = 0;
  virtual DeviceKind device() const { return DeviceKind::kCpu; }
  // True when the backend's own concats should be done by the engine in place whenever
  // can_concat_in_place allows (engine.h): its segments write every value in NCHW anyway, so a
  // producer writing into its slice of the concat's output costs nothing and the copy is saved.
  // (A backend with layouts of its own would convert at every such boundary instead.)
  virtual bool concat_in_place() const { return false; }
  // What really ran, for the result row: library versions, math mode, algorithms chosen, CUDA
  // graph on or off, ... Called after prepare(); a flat object of strings and numbers. Two keys
  // fill the row's own fields: "library_version" (string: the library's version, as it reports
  // it) and "threads" (number: the threads the library really uses, by its own answer; leave it
  // out when the library cannot say, and the requested count is recorded as such).
  virtual nlohmann::json settings() const { return nlohmann::json::object(); }
};

}  // namespace libscout
