// The network as the engine sees it: values (tensors flowing between layers) and layers in
// topological order. A layer owns its constants (weights, bias, batch-norm statistics).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace libscout {

using ValueId = int;
using LayerId = int;

enum class OpKind {
  kConv2d,
  kRelu,
  kRelu6,
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kConcat,  // along channels
  kFullyConnected,
  kSoftmax,  // over channels
  kBatchNorm,
  kAdd,
  kFlatten,  // (N, C, H, W) -> (N, C*H*W, 1, 1)
  kReshape,  // the same elements in a new shape (N', C', H', W'), N' = elements / (C' H' W')
};
const char* op_name(OpKind op);

// An activation fused into the layer that produces its input.
enum class Activation { kNone, kRelu, kRelu6 };
const char* activation_name(Activation a);

struct Conv2dParams {
  int out_channels = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
  Activation activation = Activation::kNone;

  bool is_depthwise(int in_channels) const {
    return groups == in_channels && groups > 1 && out_channels % groups == 0;
  }
  bool is_pointwise() const {  // 1x1, stride 1, no padding: im2col is the identity
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_left == 0 && pad_bottom == 0 && pad_right == 0;
  }
};

struct Pool2dParams {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // top and left; also bottom and right unless those are set
  bool ceil_mode = true;  // Caffe's output size: ceil((in + 2p - k) / s) + 1
  bool count_include_pad = true;
  // Asymmetric padding (ONNX pads, TensorFlow's "SAME"): the bottom and right padding when they
  // differ from the top and left. Backends that map only symmetric padding decline a pooling
  // layer that is not symmetric().
  std::optional<int> pad_bottom_if_asymmetric, pad_right_if_asymmetric;

  int pad_bottom() const { return pad_bottom_if_asymmetric.value_or(pad_h); }
  int pad_right() const { return pad_right_if_asymmetric.value_or(pad_w); }
  bool symmetric() const { return pad_bottom() == pad_h && pad_right() == pad_w; }
};

struct FullyConnectedParams {
  int out_features = 0;
  Activation activation = Activation::kNone;
};

struct BatchNormParams {
  float epsilon = 1e-5f;
  std::vector<float> gamma, beta, mean, variance;
};

struct AddParams {
  Activation activation = Activation::kNone;
};

// kReshape: the output's channels, height and width; its batch is what the element count leaves
// (so a reshape follows the batch like every other layer).
struct ReshapeParams {
  int c = 1, h = 1, w = 1;
};

using LayerParams =
    std::variant<std::monostate, Conv2dParams, Pool2dParams, FullyConnectedParams, BatchNormParams,
                 AddParams, ReshapeParams>;

struct Layer {
  std::string name;
  OpKind op = OpKind::kRelu;
  std::vector<ValueId> inputs;
  ValueId output = -1;
  LayerParams params;
  // Conv2d: (Cout, Cin/groups, KH, KW). FullyConnected: (Out, In, 1, 1). Bias: (1, Cout, 1, 1).
  Tensor weight, bias;

  const Conv2dParams& conv() const { return std::get<Conv2dParams>(params); }
  const Pool2dParams& pool() const { return std::get<Pool2dParams>(params); }
  const FullyConnectedParams& fc() const { return std::get<FullyConnectedParams>(params); }
  const BatchNormParams& batch_norm() const { return std::get<BatchNormParams>(params); }
  const AddParams& add() const { return std::get<AddParams>(params); }
  const ReshapeParams& reshape() const { return std::get<ReshapeParams>(params); }
  Activation activation() const;  // the fused activation, kNone for ops that have none
};

struct Value {
  std::string name;
  Shape shape;
  // The value's dimensions as its model file states them (rank 1 to 4, the NCHW shape's leading
  // dimensions with the rest 1); empty for built-in models, whose values are NCHW.
  std::vector<int> file_dims;
};

class Graph {
 public:
  std::string name;
  std::vector<Value> values;
  std::vector<Layer> layers;  // topological order
  ValueId input = -1;
  std::vector<ValueId> outputs;  // e.g. logits and probabilities
  // Models read from a file: its path as given and the SHA-256 of its content (the file and its
  // external data), which identifies the model in results and caches. Empty for the zoo.
  std::string source_path;
  std::string content_sha256;

  const Shape& shape(ValueId v) const { return values.at(v).shape; }
  const Shape& input_shape(const Layer& l, int i = 0) const { return shape(l.inputs.at(i)); }
  const Shape& output_shape(const Layer& l) const { return shape(l.output); }

  // Recomputes every value's shape from the input's; throws Error on an inconsistent graph.
  void infer_shapes();
  void set_batch(int batch);

  // Layers reading each value, in order.
  std::vector<std::vector<LayerId>> consumers() const;
  Graph clone() const;
};

// Output shape of `layer` given the graph's input shapes; throws Error when they do not fit.
Shape infer_output_shape(const Graph& g, const Layer& layer);

// Pooling output size in one dimension (Caffe's rule with ceil mode, and its clip so the last
// window starts inside the input or its leading padding, as PyTorch does).
int pooled_size(int in, int kernel, int stride, int pad, bool ceil_mode);
int pooled_size(int in, int kernel, int stride, int pad_begin, int pad_end, bool ceil_mode);

// Multiply-accumulates of convolutions and fully connected layers, the figure the papers quote.
std::int64_t count_macs(const Graph& g);
std::int64_t count_layer_macs(const Graph& g, const Layer& l);
// Weights and biases of convolutions and fully connected layers (batch norm counted separately).
std::int64_t count_parameters(const Graph& g);

}  // namespace libscout
