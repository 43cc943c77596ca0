// How a segment's layers map onto the GPU before any library is called: which layers run (a
// batch norm right after a convolution is folded into its weights, a ReLU or ReLU6 into the layer
// that produces its input, a flatten is a view), and where every value lives. All values share
// one device arena, two values sharing memory when their lifetimes do not overlap. A concat costs
// nothing: each input produced in the segment is written by its producer straight into its
// channel slice of the concat output (batch stride = the concat's image size).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cudnn/kernels.h"
#include "core/backend.h"

namespace libscout::cudnn {

struct PlannedLayer {
  LayerId id = -1;
  const Layer* layer = nullptr;
  bool runs = true;          // false: folded, fused, or a view (flatten)
  std::string absorbed;      // why it does not run: "folded into conv1", ...
  Activation activation = Activation::kNone;  // after fusion
  ValueId output = -1;                          // after fusion
  Tensor folded_weight, folded_bias;           // set when a batch norm was folded in
  std::vector<bool> copy_input;                // concat: inputs that need a copy into the slice
  // This convolution and the next layer that runs (also a convolution) are independent: neither
  // reads what the other writes, and their buffers do not share memory, so the segment may run
  // them on two streams at once (a fire module's two expand convolutions).
  bool concurrent_with_next = false;

  const Tensor& weight() const { return folded_weight.empty() ? layer->weight : folded_weight; }
  const Tensor& bias() const { return folded_weight.empty() ? layer->bias : folded_bias; }
};

class SegmentPlan {
 public:
  // `prefix_layers`: the first layers run once per micro-batch while later parts of the input are
  // still uploading, the rest on the whole batch; values crossing from the prefix to the rest
  // are then kept for the whole prefix (0: no prefix).
  explicit SegmentPlan(const SegmentSpec& spec, int prefix_layers = 0);

  const Graph& graph() const { return *graph_; }
  const std::vector<PlannedLayer>& layers() const { return layers_; }
  // Values read from outside (uploaded each run) and produced for outside (downloaded).
  const std::vector<ValueId>& uploads() const { return uploads_; }
  const std::vector<ValueId>& downloads() const { return downloads_; }
  std::size_t arena_floats() const { return arena_floats_; }
  int free_concat_inputs() const { return free_concat_inputs_; }
  int concurrent_pairs() const { return concurrent_pairs_; }
  // Index into layers() of layer `id`, -1 if not in the segment.
  int index_of(LayerId id) const;
  // Where value v lives once the arena is at `arena`.
  DeviceView view(ValueId v, float* arena) const;

 private:
  void fuse(const SegmentSpec& spec);
  void alias(const SegmentSpec& spec);
  void pair_independent_convolutions(int prefix_layers);
  void place(const SegmentSpec& spec, int prefix_layers);
  int producer_in_segment(ValueId v) const;  // index into layers_, -1 if none

  const Graph* graph_;
  std::vector<PlannedLayer> layers_;
  std::vector<std::vector<LayerId>> consumers_;
  std::vector<ValueId> root_;              // per value: the value whose storage it lives in
  std::vector<std::int64_t> offset_;       // per value: floats from the root's image start
  std::vector<std::size_t> arena_offset_;  // per root: floats from the arena start
  std::vector<ValueId> uploads_, downloads_;
  std::size_t arena_floats_ = 0;
  int free_concat_inputs_ = 0;
  int concurrent_pairs_ = 0;
};

Act to_act(Activation a);

}  // namespace libscout::cudnn
