// Convolution candidates through cuDNN's graph (backend) API: the convolution, its bias add and its
// activation as one operation graph (cuDNN fuses them at run time where an engine can), and the
// convolution alone (bias and activation by the epilogue kernel). Each engine configuration that
// cuDNN's heuristics (modes A and fallback) propose becomes a candidate, except those that would
// round through tensor cores (TF32) when FP32 is asked for. The legacy API's find call sees only
// the engines behind its eight algorithms; these may be others.
#pragma once

#include <memory>
#include <vector>

#include "backends/cudnn/cudnn_choose.h"
#include "core/graph.h"

namespace libscout::cudnn {

struct ConvProblem {
  DeviceView x, y;  // the layer's input (unpadded) and output
  const Conv2dParams* params = nullptr;
  const float* weight = nullptr;  // device, (Cout, Cin/groups, KH, KW)
  const float* bias = nullptr;    // device, Cout (zeros when the layer has none)
  bool has_bias = false;
  Act act = Act::kNone;
  std::shared_ptr<const void> keep_alive;  // owner of the device buffers above
};

// At most `max_per_graph` engine configurations per operation graph. A graph that cuDNN cannot
// build comes back as one candidate that fails with the reason, so that the report shows it.
std::vector<Candidate> graph_api_conv_candidates(const ConvProblem& problem, Library& lib,
                                                 int max_per_graph);

}  // namespace libscout::cudnn
