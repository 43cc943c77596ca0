// Reading ONNX models (opsets 7 to 17) into libscout's graph, with Debian's ONNX protobuf classes,
// and writing graphs back as ONNX (onnx_export.h). What CNN exports contain is imported:
// convolutions, pooling, batch norm, fully connected layers (Gemm, MatMul + Add), softmax,
// concat, flatten and reshape, element-wise Add / Mul / Sub / Div by constants, ReLU and Clip as
// ReLU6, zero Pad folded into the convolution or pooling that follows, Dropout and Identity
// removed, and the constant shape arithmetic before a Reshape (Shape, Gather, Unsqueeze, Concat,
// ...) folded at load. Tensors of rank 1 to 4 map onto the engine's NCHW shapes (missing trailing
// dimensions are 1); an op on another axis runs on a reshaped view.
//
// Files are untrusted: every size is checked for overflow before anything is allocated, a model
// larger than the memory limit is refused before it is read, external data must lie in the
// model's folder, and anything malformed or unsupported is an Error naming the node, its operator
// and the opset (UnsupportedModel when the file is valid ONNX that libscout cannot run).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/graph.h"

namespace libscout {

// A valid ONNX model that uses something libscout does not implement (an operator, an attribute
// value, a data type).
class UnsupportedModel : public Error {
 public:
  using Error::Error;
};

struct OnnxImportOptions {
  int batch = 1;          // a symbolic first dimension of the input takes this value
  int resolution = 224;   // symbolic height and width of a 4-D input take this value
  std::vector<int> input_shape = {};  // when not empty: the input's whole shape (--input-shape)
  std::size_t memory_limit = 0;  // bytes; 0: default_model_memory_limit()
};

// Whether this build reads and writes ONNX (libonnx-dev was found when it was configured).
bool onnx_supported();

// Half of the smaller of the machine's physical memory and this process's memory limits; in a
// 32-bit process the half of the memory is first clamped to [256 MiB, 2 GiB - 1] (see
// model_limits.cpp).
std::size_t default_model_memory_limit();

// The model at `path` as built (batch norms and activations still separate): load_model() then
// applies the load passes. External data is read from the model's folder.
Graph import_onnx_file(const std::string& path, const OnnxImportOptions& options = {});

// The same from the bytes of a model; `name` names it in errors and in the graph. External data
// is refused unless `folder` (where it would lie) is given. The fuzz target's entry point.
Graph import_onnx_bytes(const void* data, std::size_t size, const OnnxImportOptions& options,
                        const std::string& name = "model", const std::string& folder = "");

}  // namespace libscout
