// The built-in model zoo: the paper's SqueezeNet v1.1 and MobileNet v1, and SqueezeNet v1.0,
// MobileNet v2 and ResNet-18, with the architectures of their reference implementations and
// deterministic seeded weights. Every model has two outputs: logits, then probabilities.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"

namespace libscout {

struct ModelOptions {
  int batch = 1;
  int resolution = 224;  // input height and width
  float width = 1.0f;    // channel multiplier (MobileNets only)
  int classes = 1000;
  std::uint64_t seed = 2017;
};

struct ModelInfo {
  std::string name;
  std::string description;
  bool has_width = false;
};

std::vector<ModelInfo> list_models();

// The graph as its reference implementation defines it (batch norms and activations separate).
// Throws Error for an unknown name or options that do not fit.
Graph build_model(const std::string& name, const ModelOptions& opts = {});

// build_model + optimize_for_inference: what every backend runs.
Graph load_model(const std::string& name, const ModelOptions& opts = {});

// A seeded input in [-1, 1) of the model's input shape.
Tensor make_input(const Graph& g, std::uint64_t seed = 7);

}  // namespace libscout
