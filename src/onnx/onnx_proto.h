// Debian's ONNX protobuf classes (libonnx-dev, ONNX 1.12, built with ONNX_ML): onnx::ModelProto,
// GraphProto, NodeProto, TensorProto, ... ONNX_NAMESPACE and ONNX_ML come from src/onnx/CMakeLists.
#pragma once

#include <onnx/onnx_pb.h>
