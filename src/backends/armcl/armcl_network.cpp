// The Arm Compute Library side of the `armcl-neon` and `armcl-cl` backends (armcl_network.h).
// Compiled as C++17: ACL 20.08's headers do not compile as C++20, so this file includes no
// libscout header but armcl_network.h.
//
// One code path serves both targets: Api<Neon> and Api<OpenCL> name the tensor and function
// types (NEConvolutionLayer / CLConvolutionLayer, ...) and how host code reaches a tensor's
// memory (direct on NEON, map/unmap on OpenCL).
//
// Layout: every tensor is NHWC, TensorShape(C, W, H, N), except a fully connected layer's
// output, which ACL gives as a matrix TensorShape(C, N); a layer that needs the other form of a
// value gets an NEReshapeLayer copy (only ever for batch > 1, where the two shapes differ).
//
// Caffe's semantics on ACL:
// - convolution padding may be asymmetric (PadStrideInfo's four pads); groups that are neither 1
//   nor depthwise run as one dense convolution with block-diagonal weights (ACL's NEON
//   convolution has no groups);
// - pooling in ceil mode uses DimensionRoundingType::CEIL with Caffe's symmetric padding. ACL's
//   average counts the window clipped to input + padding (exclude_padding = false), Caffe's
//   count_include_pad rule; exclude_padding = true counts the input pixels only. Where Caffe's
//   rule that the last window starts inside the input gives a smaller output than ACL's ceil,
//   max pooling (and average without the padding) uses FLOOR with extra bottom/right padding
//   instead; average pooling that counts padding is then declined;
// - flatten of a spatial value permutes NHWC to NCHW (NEPermute) before the reshape, so the
//   vector is in the order the next layer's weights expect.
#include "backends/armcl/armcl_network.h"

#include <arm_compute/core/CL/OpenCL.h>
#include <arm_compute/core/Types.h>
#include <arm_compute/core/Version.h>
#include <arm_compute/runtime/CL/CLFunctions.h>
#include <arm_compute/runtime/CL/CLScheduler.h>
#include <arm_compute/runtime/CL/CLTensor.h>
#include <arm_compute/runtime/NEON/NEFunctions.h>
#include <arm_compute/runtime/NEON/NEScheduler.h>
#include <arm_compute/runtime/Tensor.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

namespace libscout::armcl {
namespace {

namespace acl = arm_compute;

struct NeonApi {
  using Tensor = acl::Tensor;
  using ITensor = acl::ITensor;
  using Conv = acl::NEConvolutionLayer;
  using Depthwise = acl::NEDepthwiseConvolutionLayer;
  using Pool = acl::NEPoolingLayer;
  using FullyConnected = acl::NEFullyConnectedLayer;
  using Concat = acl::NEConcatenateLayer;
  using Softmax = acl::NESoftmaxLayer;
  using BatchNorm = acl::NEBatchNormalizationLayer;
  using Add = acl::NEArithmeticAddition;
  using Activation = acl::NEActivationLayer;
  using Permute = acl::NEPermute;
  using Reshape = acl::NEReshapeLayer;
  static void map(Tensor&) {}
  static void unmap(Tensor&) {}
  static void sync() {}
};

struct ClApi {
  using Tensor = acl::CLTensor;
  using ITensor = acl::ICLTensor;
  using Conv = acl::CLConvolutionLayer;
  using Depthwise = acl::CLDepthwiseConvolutionLayer;
  using Pool = acl::CLPoolingLayer;
  using FullyConnected = acl::CLFullyConnectedLayer;
  using Concat = acl::CLConcatenateLayer;
  using Softmax = acl::CLSoftmaxLayer;
  using BatchNorm = acl::CLBatchNormalizationLayer;
  using Add = acl::CLArithmeticAddition;
  using Activation = acl::CLActivationLayer;
  using Permute = acl::CLPermute;
  using Reshape = acl::CLReshapeLayer;
  static void map(Tensor& t) { t.map(true); }
  static void unmap(Tensor& t) { t.unmap(); }
  static void sync() { acl::CLScheduler::get().sync(); }
};

std::string opencl_problem() {
  if (!acl::opencl_is_available()) {
    return "no OpenCL library: libOpenCL.so could not be loaded (install an OpenCL ICD loader "
           "and the board's OpenCL driver)";
  }
  try {
    std::vector<cl::Platform> platforms;
    cl::Platform::get(&platforms);
    if (platforms.empty()) return "no OpenCL platform (no driver registered in /etc/OpenCL/vendors)";
    std::size_t devices = 0;
    for (cl::Platform& p : platforms) {
      std::vector<cl::Device> d;
      try {
        p.getDevices(CL_DEVICE_TYPE_ALL, &d);
      } catch (const cl::Error&) {
      }
      devices += d.size();
    }
    if (devices == 0) return "OpenCL platforms found but no OpenCL device";
  } catch (const cl::Error& e) {
    if (e.err() == -1001) {  // CL_PLATFORM_NOT_FOUND_KHR, from the ICD loader
      return "no OpenCL platform (no driver registered in /etc/OpenCL/vendors)";
    }
    return std::string("OpenCL platform query failed: ") + e.what() + " (error " +
           std::to_string(e.err()) + ")";
  }
  return {};
}

// OpenCL: the scheduler (context, queue, kernel library) is initialized once per process.
void init_opencl() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    error = opencl_problem();
    if (!error.empty()) return;
    try {
      acl::CLScheduler::get().default_init();
    } catch (const std::exception& e) {
      error = std::string("OpenCL initialization failed: ") + e.what();
    }
  });
  if (!error.empty()) throw std::runtime_error(error);
}

acl::ActivationLayerInfo activation_info(Act a) {
  using F = acl::ActivationLayerInfo::ActivationFunction;
  switch (a) {
    case Act::kNone: return {};
    case Act::kRelu: return acl::ActivationLayerInfo(F::RELU);
    case Act::kRelu6: return acl::ActivationLayerInfo(F::BOUNDED_RELU, 6.0f);
  }
  return {};
}

acl::TensorInfo nhwc_info(const Dims& d) {
  acl::TensorInfo info(acl::TensorShape(d.c, d.w, d.h, d.n), 1, acl::DataType::F32);
  info.set_data_layout(acl::DataLayout::NHWC);
  return info;
}

acl::TensorInfo matrix_info(int cols, int rows) {
  acl::TensorInfo info(acl::TensorShape(cols, rows), 1, acl::DataType::F32);
  info.set_data_layout(acl::DataLayout::NHWC);
  return info;
}

acl::TensorInfo vector_info(int size) {
  return acl::TensorInfo(acl::TensorShape(size), 1, acl::DataType::F32);
}

void require(const acl::Status& s, const LayerDesc& l, const char* function) {
  if (!bool(s)) {
    throw std::runtime_error(std::string(function) + " rejects layer '" + l.name +
                             "': " + s.error_description());
  }
}

// Bottom/right padding that makes floor((in + before + after - k) / s) + 1 equal `out`; -1 if none.
int padding_after(int in, int kernel, int stride, int before, int out) {
  for (int after = 0; after < kernel + stride; ++after) {
    const int padded = in + before + after;
    if (padded >= kernel && (padded - kernel) / stride + 1 == out) return after;
  }
  return -1;
}

// Pooling settings that give Caffe's output, in the order tried (see the file comment).
std::vector<acl::PoolingLayerInfo> pooling_candidates(const LayerDesc& l) {
  const bool is_max = l.kind == Kind::kMaxPool;
  const bool exclude = !is_max && !l.count_include_pad;
  const acl::PoolingType type = is_max ? acl::PoolingType::MAX : acl::PoolingType::AVG;
  const acl::Size2D size(l.kernel_w, l.kernel_h);
  std::vector<acl::PoolingLayerInfo> out;
  out.emplace_back(type, size, acl::DataLayout::NHWC,
                   acl::PadStrideInfo(l.stride_w, l.stride_h, l.pad_left, l.pad_left, l.pad_top,
                                      l.pad_top,
                                      l.ceil_mode ? acl::DimensionRoundingType::CEIL
                                                  : acl::DimensionRoundingType::FLOOR),
                   exclude);
  if (is_max || exclude) {
    const Dims& in = l.input_dims[0];
    const int bottom = padding_after(in.h, l.kernel_h, l.stride_h, l.pad_top, l.output_dims.h);
    const int right = padding_after(in.w, l.kernel_w, l.stride_w, l.pad_left, l.output_dims.w);
    if (bottom >= 0 && right >= 0) {
      out.emplace_back(type, size, acl::DataLayout::NHWC,
                       acl::PadStrideInfo(l.stride_w, l.stride_h, l.pad_left, right, l.pad_top,
                                          bottom, acl::DimensionRoundingType::FLOOR),
                       exclude);
    }
  }
  return out;
}

template <class Api>
class NetworkOn {
 public:
  using Tensor = typename Api::Tensor;
  using ITensor = typename Api::ITensor;

  explicit NetworkOn(int threads) : threads_(std::max(1, threads)) {}

  void add_input(int value, const Dims& dims) { values_[value] = {new_tensor(nhwc_info(dims)), false, dims}; }

  int add(const LayerDesc& l) {
    layers_.emplace_back();
    current_ = &layers_.back();
    switch (l.kind) {
      case Kind::kConv: add_conv(l); break;
      case Kind::kMaxPool:
      case Kind::kAvgPool: add_pool(l); break;
      case Kind::kGlobalAvgPool: {
        ITensor* in = as_nhwc(l.inputs[0]);
        Tensor* out = new_value(l.output, l.output_dims);
        const acl::PoolingLayerInfo info(acl::PoolingType::AVG, acl::DataLayout::NHWC);
        require(Api::Pool::validate(in->info(), out->info(), info), l, "PoolingLayer (global)");
        make<typename Api::Pool>()->configure(in, out, info);
        break;
      }
      case Kind::kConcat: {
        std::vector<const ITensor*> inputs;
        std::vector<const acl::ITensorInfo*> infos;
        for (int v : l.inputs) {
          inputs.push_back(as_nhwc(v));
          infos.push_back(inputs.back()->info());
        }
        Tensor* out = new_value(l.output, l.output_dims);
        require(Api::Concat::validate(infos, out->info(), 0), l, "ConcatenateLayer");
        make<typename Api::Concat>()->configure(inputs, out, 0);
        break;
      }
      case Kind::kFullyConnected: add_fully_connected(l); break;
      case Kind::kSoftmax: {
        const Slot& src = values_.at(l.inputs[0]);
        Tensor* out = new_like(l.output, src);
        require(Api::Softmax::validate(src.tensor->info(), out->info(), 1.0f, 0), l,
                "SoftmaxLayer");
        make<typename Api::Softmax>()->configure(src.tensor, out, 1.0f, 0);
        break;
      }
      case Kind::kBatchNorm: add_batch_norm(l); break;
      case Kind::kAdd: {
        ITensor* a = as_nhwc(l.inputs[0]);
        ITensor* b = as_nhwc(l.inputs[1]);
        Tensor* out = new_value(l.output, l.output_dims);
        require(Api::Add::validate(a->info(), b->info(), out->info(), acl::ConvertPolicy::SATURATE),
                l, "ArithmeticAddition");
        make<typename Api::Add>()->configure(a, b, out, acl::ConvertPolicy::SATURATE);
        if (l.act != Act::kNone) {  // in place
          require(Api::Activation::validate(out->info(), nullptr, activation_info(l.act)), l,
                  "ActivationLayer");
          make<typename Api::Activation>()->configure(out, nullptr, activation_info(l.act));
        }
        break;
      }
      case Kind::kFlatten: add_flatten(l); break;
      case Kind::kRelu:
      case Kind::kRelu6: {
        const Slot& src = values_.at(l.inputs[0]);
        Tensor* out = new_like(l.output, src);
        const auto info = activation_info(l.kind == Kind::kRelu ? Act::kRelu : Act::kRelu6);
        require(Api::Activation::validate(src.tensor->info(), out->info(), info), l,
                "ActivationLayer");
        make<typename Api::Activation>()->configure(src.tensor, out, info);
        break;
      }
    }
    current_ = nullptr;
    return static_cast<int>(layers_.size()) - 1;
  }

  void finish() {
    for (auto& t : tensors_) t->allocator()->allocate();
    for (Fill& f : fills_) {
      Api::map(*f.tensor);
      const acl::ITensorInfo& info = *f.tensor->info();
      // Constants are 1-D or have no padding: ACL pads activations only.
      std::memcpy(f.tensor->buffer() + info.offset_first_element_in_bytes(), f.data.data(),
                  f.data.size() * sizeof(float));
      Api::unmap(*f.tensor);
    }
    fills_.clear();
    for (auto& layer : layers_) {
      for (acl::IFunction* f : layer) f->prepare();
    }
    Api::sync();
  }

  void ensure_threads() {
    if constexpr (std::is_same_v<Api, NeonApi>) {
      auto& scheduler = acl::NEScheduler::get();
      if (static_cast<int>(scheduler.num_threads()) != threads_) scheduler.set_num_threads(threads_);
    }
  }

  void import_nchw(int value, const float* src) {
    const Slot& s = values_.at(value);
    Api::map(*s.tensor);
    copy(s, const_cast<float*>(src), true);
    Api::unmap(*s.tensor);
  }

  void export_nchw(int value, float* dst) {
    const Slot& s = values_.at(value);
    Api::map(*s.tensor);
    copy(s, dst, false);
    Api::unmap(*s.tensor);
  }

  void run_layer(int index) {
    for (acl::IFunction* f : layers_.at(index)) f->run();
  }

 private:
  // A value's tensor: NHWC (C, W, H, N) or, for a fully connected output, a matrix (C, N).
  struct Slot {
    Tensor* tensor = nullptr;
    bool matrix = false;
    Dims dims;
  };
  struct Fill {
    Tensor* tensor;
    std::vector<float> data;
  };

  Tensor* new_tensor(const acl::TensorInfo& info) {
    tensors_.push_back(std::make_unique<Tensor>());
    tensors_.back()->allocator()->init(info);
    return tensors_.back().get();
  }

  Tensor* new_value(int value, const Dims& d) {
    Tensor* t = new_tensor(nhwc_info(d));
    values_[value] = {t, false, d};
    return t;
  }

  // Same form as `src` (NHWC or matrix).
  Tensor* new_like(int value, const Slot& src) {
    Tensor* t = new_tensor(src.matrix ? matrix_info(src.dims.c, src.dims.n) : nhwc_info(src.dims));
    values_[value] = {t, src.matrix, src.dims};
    return t;
  }

  Tensor* constant(const acl::TensorInfo& info, std::vector<float> data) {
    Tensor* t = new_tensor(info);
    fills_.push_back({t, std::move(data)});
    return t;
  }

  template <class F>
  F* make() {
    auto f = std::make_unique<F>();
    F* raw = f.get();
    functions_.push_back(std::move(f));
    current_->push_back(raw);
    return raw;
  }

  // The NHWC form of a value: a matrix (C, N) is reshaped to (C, 1, 1, N) once, by the first
  // layer that needs it. For N = 1 both are the same shape.
  ITensor* as_nhwc(int value) {
    Slot& s = values_.at(value);
    if (!s.matrix || s.dims.n == 1) return s.tensor;
    auto it = nhwc_views_.find(value);
    if (it != nhwc_views_.end()) return it->second;
    Tensor* t = new_tensor(nhwc_info(s.dims));
    make<typename Api::Reshape>()->configure(s.tensor, t);
    nhwc_views_[value] = t;
    return t;
  }

  void add_conv(const LayerDesc& l) {
    ITensor* in = as_nhwc(l.inputs[0]);
    const Dims& id = l.input_dims[0];
    Tensor* out = new_value(l.output, l.output_dims);
    const int cout = l.out_channels, kh = l.kernel_h, kw = l.kernel_w;
    const acl::PadStrideInfo conv_info(l.stride_w, l.stride_h, l.pad_left, l.pad_right,
                                       l.pad_top, l.pad_bottom, acl::DimensionRoundingType::FLOOR);
    const acl::Size2D dilation(l.dilation_w, l.dilation_h);
    const acl::ActivationLayerInfo act = activation_info(l.act);
    Tensor* bias = nullptr;
    if (l.bias != nullptr) bias = constant(vector_info(cout), std::vector<float>(l.bias, l.bias + cout));
    const bool depthwise = l.groups == id.c && l.groups > 1 && cout % l.groups == 0;
    if (depthwise) {
      // (Cout, 1, KH, KW) -> NHWC (Cout, KW, KH): [kh][kw][cout].
      std::vector<float> w(static_cast<std::size_t>(cout) * kh * kw);
      for (int o = 0; o < cout; ++o) {
        for (int k = 0; k < kh * kw; ++k) w[static_cast<std::size_t>(k) * cout + o] = l.weight[o * kh * kw + k];
      }
      acl::TensorInfo wi(acl::TensorShape(cout, kw, kh), 1, acl::DataType::F32);
      wi.set_data_layout(acl::DataLayout::NHWC);
      Tensor* weights = constant(wi, std::move(w));
      const unsigned multiplier = cout / id.c;
      require(Api::Depthwise::validate(in->info(), weights->info(), bias ? bias->info() : nullptr,
                                       out->info(), conv_info, multiplier, act, dilation),
              l, "DepthwiseConvolutionLayer");
      make<typename Api::Depthwise>()->configure(in, weights, bias, out, conv_info, multiplier, act,
                                                 dilation);
      return;
    }
    // (Cout, Cin/groups, KH, KW) -> NHWC (Cin, KW, KH, Cout): [cout][kh][kw][cin], zeros outside
    // each output channel's group.
    const int gin = id.c / l.groups, gout = cout / l.groups;
    std::vector<float> w(static_cast<std::size_t>(cout) * kh * kw * id.c, 0.0f);
    for (int o = 0; o < cout; ++o) {
      const int first = (o / gout) * gin;
      for (int i = 0; i < gin; ++i) {
        for (int k = 0; k < kh * kw; ++k) {
          w[(static_cast<std::size_t>(o) * kh * kw + k) * id.c + first + i] =
              l.weight[(static_cast<std::size_t>(o) * gin + i) * kh * kw + k];
        }
      }
    }
    acl::TensorInfo wi(acl::TensorShape(id.c, kw, kh, cout), 1, acl::DataType::F32);
    wi.set_data_layout(acl::DataLayout::NHWC);
    Tensor* weights = constant(wi, std::move(w));
    require(Api::Conv::validate(in->info(), weights->info(), bias ? bias->info() : nullptr,
                                out->info(), conv_info, acl::WeightsInfo(), dilation, act),
            l, "ConvolutionLayer");
    make<typename Api::Conv>()->configure(in, weights, bias, out, conv_info, acl::WeightsInfo(),
                                          dilation, act);
  }

  void add_pool(const LayerDesc& l) {
    ITensor* in = as_nhwc(l.inputs[0]);
    Tensor* out = new_value(l.output, l.output_dims);
    std::string why;
    for (const acl::PoolingLayerInfo& info : pooling_candidates(l)) {
      const acl::Status s = Api::Pool::validate(in->info(), out->info(), info);
      if (bool(s)) {
        make<typename Api::Pool>()->configure(in, out, info);
        return;
      }
      if (why.empty()) why = s.error_description();
    }
    throw std::runtime_error("PoolingLayer cannot give Caffe's pooled size for layer '" + l.name +
                             "'" + (why.empty() ? std::string() : ": " + why));
  }

  void add_fully_connected(const LayerDesc& l) {
    const Slot& src = values_.at(l.inputs[0]);
    const Dims& id = l.input_dims[0];
    const int features = id.c * id.h * id.w, outputs = l.out_channels;
    // ACL's weights are (inputs, outputs): memory [out][in], the engine's own order. A spatial
    // input is NHWC here while the weights read NCHW: ACL converts them (weights_trained_layout).
    Tensor* weights = constant(acl::TensorInfo(acl::TensorShape(features, outputs), 1, acl::DataType::F32),
                               std::vector<float>(l.weight, l.weight + std::size_t(features) * outputs));
    Tensor* bias = nullptr;
    if (l.bias != nullptr) bias = constant(vector_info(outputs), std::vector<float>(l.bias, l.bias + outputs));
    Tensor* out = new_tensor(matrix_info(outputs, id.n));
    values_[l.output] = {out, true, l.output_dims};
    acl::FullyConnectedLayerInfo info;
    info.weights_trained_layout = acl::DataLayout::NCHW;
    info.activation_info = activation_info(l.act);
    require(Api::FullyConnected::validate(src.tensor->info(), weights->info(),
                                          bias ? bias->info() : nullptr, out->info(), info),
            l, "FullyConnectedLayer");
    make<typename Api::FullyConnected>()->configure(src.tensor, weights, bias, out, info);
  }

  void add_batch_norm(const LayerDesc& l) {
    ITensor* in = as_nhwc(l.inputs[0]);
    Tensor* out = new_value(l.output, l.output_dims);
    const int c = l.input_dims[0].c;
    auto vec = [&](const float* p) { return constant(vector_info(c), std::vector<float>(p, p + c)); };
    Tensor *mean = vec(l.mean), *var = vec(l.variance), *beta = vec(l.beta), *gamma = vec(l.gamma);
    require(Api::BatchNorm::validate(in->info(), out->info(), mean->info(), var->info(),
                                     beta->info(), gamma->info(), l.epsilon),
            l, "BatchNormalizationLayer");
    make<typename Api::BatchNorm>()->configure(in, out, mean, var, beta, gamma, l.epsilon);
  }

  void add_flatten(const LayerDesc& l) {
    const Dims& id = l.input_dims[0];
    if (id.h * id.w == 1) {  // the same tensor: NHWC and NCHW agree
      values_[l.output] = values_.at(l.inputs[0]);
      values_[l.output].dims = l.output_dims;
      return;
    }
    ITensor* in = as_nhwc(l.inputs[0]);
    // NHWC (C, W, H, N) -> NCHW (W, H, C, N), then the vector (C*H*W, 1, 1, N).
    acl::TensorInfo nchw(acl::TensorShape(id.w, id.h, id.c, id.n), 1, acl::DataType::F32);
    nchw.set_data_layout(acl::DataLayout::NCHW);
    Tensor* permuted = new_tensor(nchw);
    const acl::PermutationVector perm(1U, 2U, 0U);
    require(Api::Permute::validate(in->info(), permuted->info(), perm), l, "Permute");
    make<typename Api::Permute>()->configure(in, permuted, perm);
    Tensor* out = new_value(l.output, l.output_dims);
    require(Api::Reshape::validate(permuted->info(), out->info()), l, "ReshapeLayer");
    make<typename Api::Reshape>()->configure(permuted, out);
  }

  // Between the engine's NCHW buffer and the tensor (NHWC or matrix, with ACL's strides).
  void copy(const Slot& s, float* nchw, bool to_tensor) {
    const acl::ITensorInfo& info = *s.tensor->info();
    const auto& st = info.strides_in_bytes();
    std::uint8_t* base = s.tensor->buffer() + info.offset_first_element_in_bytes();
    const Dims& d = s.dims;
    const std::size_t plane = static_cast<std::size_t>(d.h) * d.w;
    // Index * stride only for indices that can be non-zero: a collapsed shape's strides beyond
    // its dimensions are never needed.
    const std::size_t sc = st[0];
    const std::size_t sw = s.matrix ? 0 : (d.w > 1 ? st[1] : 0);
    const std::size_t sh = s.matrix ? 0 : (d.h > 1 ? st[2] : 0);
    const std::size_t sn = d.n > 1 ? (s.matrix ? st[1] : st[3]) : 0;
    for (int n = 0; n < d.n; ++n) {
      float* img = nchw + static_cast<std::size_t>(n) * d.c * plane;
      for (int h = 0; h < d.h; ++h) {
        for (int w = 0; w < d.w; ++w) {
          auto* px = reinterpret_cast<float*>(base + n * sn + h * sh + w * sw);
          float* e = img + static_cast<std::size_t>(h) * d.w + w;
          if (sc == sizeof(float)) {
            if (to_tensor) {
              for (int c = 0; c < d.c; ++c) px[c] = e[c * plane];
            } else {
              for (int c = 0; c < d.c; ++c) e[c * plane] = px[c];
            }
          } else {
            for (int c = 0; c < d.c; ++c) {
              auto* p = reinterpret_cast<float*>(reinterpret_cast<std::uint8_t*>(px) + c * sc);
              if (to_tensor) *p = e[c * plane];
              else e[c * plane] = *p;
            }
          }
        }
      }
    }
  }

  int threads_;
  std::vector<std::unique_ptr<Tensor>> tensors_;
  std::vector<std::unique_ptr<acl::IFunction>> functions_;
  std::vector<std::vector<acl::IFunction*>> layers_;
  std::vector<acl::IFunction*>* current_ = nullptr;
  std::map<int, Slot> values_;
  std::map<int, ITensor*> nhwc_views_;
  std::vector<Fill> fills_;
};

}  // namespace

struct Network::Impl {
  Target target;
  std::unique_ptr<NetworkOn<NeonApi>> neon;
  std::unique_ptr<NetworkOn<ClApi>> cl;

  template <class F>
  decltype(auto) on(F&& f) {
    if (neon) return f(*neon);
    return f(*cl);
  }
};

Network::Network(Target target, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->target = target;
  if (target == Target::kNeon) {
    impl_->neon = std::make_unique<NetworkOn<NeonApi>>(threads);
    // ACL chooses some kernels by the scheduler's thread count at configure time.
    if (threads > 0) impl_->neon->ensure_threads();
  } else {
    init_opencl();
    impl_->cl = std::make_unique<NetworkOn<ClApi>>(threads);
  }
}

Network::~Network() = default;

void Network::add_input(int value, const Dims& dims) {
  impl_->on([&](auto& n) { n.add_input(value, dims); });
}
int Network::add(const LayerDesc& layer) {
  return impl_->on([&](auto& n) { return n.add(layer); });
}
void Network::finish() {
  impl_->on([&](auto& n) { n.finish(); });
}
void Network::ensure_threads() {
  impl_->on([&](auto& n) { n.ensure_threads(); });
}
void Network::import_nchw(int value, const float* src) {
  impl_->on([&](auto& n) { n.import_nchw(value, src); });
}
void Network::run_layer(int index) {
  impl_->on([&](auto& n) { n.run_layer(index); });
}
void Network::export_nchw(int value, float* dst) {
  impl_->on([&](auto& n) { n.export_nchw(value, dst); });
}
void Network::sync() {
  if (impl_->cl) ClApi::sync();
}

std::string unavailable_reason(Target target) {
  if (target == Target::kNeon) return {};
  static const std::string reason = opencl_problem();
  return reason;
}

std::string version(Target target) {
  // ACL 20.08's ARM_COMPUTE_VERSION_STR names macros that its headers never define; the library
  // reports its version at run time: "arm_compute_version=v20.08 Build options: ...".
  std::string v = acl::build_information();
  const std::size_t eq = v.find('=');
  v = eq == std::string::npos ? std::string("(unknown version)") : v.substr(eq + 1, v.find(' ', eq) - eq - 1);
  if (!v.empty() && v[0] == 'v') v.erase(0, 1);
  return "Arm Compute Library " + v + (target == Target::kNeon ? " (NEON)" : " (OpenCL)");
}

std::string check_layer(Target target, const LayerDesc& layer) {
  try {
    Network n(target, 0);  // leaves the process-wide NEON scheduler alone
    for (std::size_t i = 0; i < layer.inputs.size(); ++i) {
      n.add_input(layer.inputs[i], layer.input_dims[i]);
    }
    n.add(layer);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace libscout::armcl
