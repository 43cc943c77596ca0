// Writing a graph as an ONNX model (opset 13, with its weights), so that the zoo's seeded models
// can be fed to other tools and the importer is tested against the zoo (export, import, same
// outputs). Every op of the graph IR has an ONNX form: Conv, MaxPool / AveragePool, Relu, Clip
// (ReLU6), GlobalAveragePool, Concat, Gemm (fully connected), Softmax, BatchNormalization, Add,
// Flatten and Reshape; fused activations become their own nodes.
#pragma once

#include <string>

#include "core/graph.h"

namespace libscout {

struct OnnxExportOptions {
  bool symbolic_batch = true;  // the batch dimension as dim_param "batch" instead of its value
};

// The serialized ModelProto. Throws Unavailable when this build has no ONNX support.
std::string export_onnx_bytes(const Graph& g, const OnnxExportOptions& options = {});
void export_onnx_file(const Graph& g, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace libscout
