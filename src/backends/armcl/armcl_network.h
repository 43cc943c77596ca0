// The Arm Compute Library side of the `armcl-neon` and `armcl-cl` backends, behind an interface
// that needs neither ACL's headers nor C++20: ACL 20.08's headers name a namespace `requires` (a
// C++20 keyword), so armcl_network.cpp is compiled as C++17 and includes no libscout header
// beyond this one, and armcl_backend.cpp (the engine's Backend, C++20) includes no ACL header.
//
// A Network is one engine segment built from ACL functions: add() configures one layer's
// function(s) on ACL tensors in NHWC (ACL 20.08's fast paths: GEMM convolution without im2col
// for 1x1, the assembly depthwise kernels), finish() allocates the tensors, copies the weights in
// and calls every function's prepare() (weight reshaping, Winograd/GEMM transforms), so that
// run_layer() only runs functions. Values cross the segment's edge through import_nchw() and
// export_nchw(), which convert between the engine's NCHW and the tensors' NHWC (with ACL's
// padding); the backend times them as part of the inference.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace libscout::armcl {

enum class Target { kNeon, kOpenCL };

enum class Act { kNone, kRelu, kRelu6 };

enum class Kind {
  kConv,  // groups: 1, the input's channels (depthwise) or anything else (block-diagonal dense)
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kConcat,  // along channels
  kFullyConnected,
  kSoftmax,  // over channels
  kBatchNorm,
  kAdd,
  kFlatten,  // (N, C, H, W) -> (N, C*H*W, 1, 1), NCHW order
  kRelu,
  kRelu6,
};

struct Dims {
  int n = 0, c = 0, h = 0, w = 0;
};

// One layer as the engine's graph describes it (NCHW shapes, Caffe semantics). Pointers refer to
// the graph's constants and are read only until Network::finish().
struct LayerDesc {
  std::string name;
  Kind kind = Kind::kRelu;
  std::vector<int> inputs;  // value ids
  std::vector<Dims> input_dims;
  int output = -1;
  Dims output_dims;
  // Convolution and pooling.
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1, groups = 1, out_channels = 0;
  bool ceil_mode = true, count_include_pad = true;
  Act act = Act::kNone;  // fused activation (convolution, fully connected, add)
  // Convolution (Cout, Cin/groups, KH, KW), fully connected (Out, In): weight and optional bias.
  const float* weight = nullptr;
  const float* bias = nullptr;
  // Batch norm.
  const float *mean = nullptr, *variance = nullptr, *gamma = nullptr, *beta = nullptr;
  float epsilon = 1e-5f;
};

// Empty when the target can run here; otherwise why not (no OpenCL library, platform, device).
std::string unavailable_reason(Target target);
std::string version(Target target);

// Empty when ACL's validate() accepts the layer with Caffe's semantics; otherwise why not.
std::string check_layer(Target target, const LayerDesc& layer);

class Network {
 public:
  // threads: NEON scheduler threads, set now (ACL picks some kernels by the count) and by
  // ensure_threads(); 0 leaves the scheduler alone. Ignored by the OpenCL target. Throws
  // std::runtime_error.
  Network(Target target, int threads);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // A value produced outside the segment, imported (NCHW) before the layer that first reads it.
  void add_input(int value, const Dims& dims);
  // Configures the layer; returns its index for run_layer(). Throws std::runtime_error with
  // ACL's message when the library rejects it.
  int add(const LayerDesc& layer);
  // Allocates every tensor, fills the weights and prepares every function.
  void finish();

  // Run time (timed).
  void ensure_threads();  // the NEON scheduler is global: restores this network's thread count
  void import_nchw(int value, const float* src);
  void run_layer(int index);
  void export_nchw(int value, float* dst);
  void sync();  // waits for queued OpenCL work (no-op on NEON)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libscout::armcl
