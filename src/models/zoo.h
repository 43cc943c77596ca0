// The built-in model zoo: the paper's SqueezeNet v1.1 and MobileNet v1, and SqueezeNet v1.0,
// MobileNet v2 and ResNet-18, with the architectures of their reference implementations and
// deterministic seeded weights. Every model has two outputs: logits, then probabilities.
//
// Everywhere a model is named (run, gemm --shapes, the study), the name may instead be the path
// of an ONNX file (src/onnx/onnx_import.h): load_model() is the one entry point for both.
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
  // The input's whole shape (--input-shape): for a model file, overrides the shape it states;
  // for the zoo, (N, 3, R, R) sets the batch and the resolution.
  std::vector<int> input_shape = {};
  // Model files: refused when larger (bytes; 0: half the memory available to the process).
  std::size_t memory_limit = 0;
};

struct ModelInfo {
  std::string name;
  std::string description;
  bool has_width = false;
};

std::vector<ModelInfo> list_models();

// Whether `model` names a file rather than a zoo model: it ends in .onnx or holds a '/'.
bool is_model_file(const std::string& model);

// "2,3,224,224" or "2x3x224x224" -> {2, 3, 224, 224}; Error when malformed.
std::vector<int> parse_input_shape(const std::string& text);

// What identifies the model in results and cache keys: the zoo name, or for a file its name and
// the start of its content's SHA-256 ("mynet-3f2a9c01d4e5b6a7").
std::string model_identity(const Graph& g);

// The graph as its reference implementation defines it (batch norms and activations separate),
// or as the file states it. Throws Error for an unknown name, a file that cannot be imported
// (the message names the node, its operator and the opset) or options that do not fit.
Graph build_model(const std::string& name, const ModelOptions& opts = {});

// build_model + optimize_for_inference: what every backend runs.
Graph load_model(const std::string& name, const ModelOptions& opts = {});

// A seeded input in [-1, 1) of the model's input shape.
Tensor make_input(const Graph& g, std::uint64_t seed = 7);

}  // namespace libscout
