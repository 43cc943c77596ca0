// Graph rewrites applied once at load, before any backend sees the graph.
#pragma once

#include "core/graph.h"

namespace libscout {

// Folds every batch norm that directly follows a convolution (whose output nothing else reads)
// into that convolution's weights and bias, as inference engines do. Returns the number folded.
int fold_batch_norms(Graph& g);

// Fuses ReLU / ReLU6 into the convolution, fully connected or add layer that produces its input,
// when nothing else reads that input. Returns the number fused.
int fuse_activations(Graph& g);

// Removes values that no layer produces or reads (left behind by the passes above) and
// renumbers the rest.
void compact_values(Graph& g);

// Applies all of the above: the form in which every backend runs a model.
void optimize_for_inference(Graph& g);

}  // namespace libscout
