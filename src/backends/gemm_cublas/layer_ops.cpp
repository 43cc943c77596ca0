#include "backends/gemm_cublas/layer_ops.h"

#include <climits>
#include <cmath>
#include <string>

#include "backends/gemm_cublas/kernels.h"
#include "core/error.h"

namespace libscout::gemm_cublas {

namespace {

Act to_act(Activation a) {
  switch (a) {
    case Activation::kNone: return Act::kNone;
    case Activation::kRelu: return Act::kRelu;
    case Activation::kRelu6: return Act::kRelu6;
  }
  return Act::kNone;
}

// Throws an Error naming the layer when a launch or copy failed (the message is built only then).
void check_layer(cudaError_t status, const Layer& l, const char* what) {
  if (status == cudaSuccess) return;
  cuda::check(status, ("gemm:cublas: layer '" + l.name + "' (" + op_name(l.op) + "): " + what)
                          .c_str());
}

std::string mib(std::size_t bytes) {
  return std::to_string((bytes + (std::size_t{1} << 20) - 1) >> 20) + " MiB";
}

Enqueue conv_op(const Graph& g, const Layer& l, const float* x, float* y, OpResources& res) {
  const Conv2dParams& p = l.conv();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  const int cin_g = in.c / p.groups, cout_g = out.c / p.groups;
  const int k = cin_g * p.kernel_h * p.kernel_w, hw = static_cast<int>(out.plane());
  const float* w = res.upload(l.weight.data(), l.weight.size(), "convolution weights");
  const float* bias = l.bias.empty() ? nullptr : res.upload(l.bias.data(), l.bias.size(), "bias");
  const bool lowered = !p.is_pointwise();
  ConvGeometry geo;
  geo.channels = in.c, geo.height = in.h, geo.width = in.w;
  geo.kernel_h = p.kernel_h, geo.kernel_w = p.kernel_w;
  geo.stride_h = p.stride_h, geo.stride_w = p.stride_w;
  geo.pad_top = p.pad_top, geo.pad_left = p.pad_left;
  geo.dilation_h = p.dilation_h, geo.dilation_w = p.dilation_w;
  geo.out_h = out.h, geo.out_w = out.w;
  float* col = res.col;
  CublasContext* blas = res.blas;
  const Act act = to_act(p.activation);
  return [=, &l](cudaStream_t s) {
    for (int n = 0; n < in.n; ++n) {
      const float* image = x + static_cast<std::size_t>(n) * in.image_elements();
      const float* b = image;
      if (lowered) {
        check_layer(im2col(image, geo, col, s), l, "im2col");
        b = col;
      }
      float* o = y + static_cast<std::size_t>(n) * out.image_elements();
      if (p.groups == 1) {
        blas->sgemm(cout_g, hw, k, w, k, b, hw, o, hw);
      } else {
        blas->sgemm_strided(cout_g, hw, k, w, k, static_cast<long long>(cout_g) * k, b, hw,
                            static_cast<long long>(k) * hw, o, hw,
                            static_cast<long long>(cout_g) * hw, p.groups);
      }
    }
    check_layer(bias_activation(y, bias, out.elements(), out.c, out.plane(), act, s), l,
                "bias and activation");
  };
}

Enqueue fully_connected_op(const Graph& g, const Layer& l, const float* x, float* y,
                           OpResources& res) {
  const Shape in = g.input_shape(l);
  const int in_f = static_cast<int>(in.image_elements()), out_f = l.fc().out_features;
  const float* w = res.upload(l.weight.data(), l.weight.size(), "fully connected weights");
  const float* bias = l.bias.empty() ? nullptr : res.upload(l.bias.data(), l.bias.size(), "bias");
  CublasContext* blas = res.blas;
  const Act act = to_act(l.fc().activation);
  return [=, &l](cudaStream_t s) {
    blas->sgemm_bt(in.n, out_f, in_f, x, in_f, w, in_f, y, out_f);
    check_layer(bias_activation(y, bias, static_cast<std::size_t>(in.n) * out_f, out_f, 1, act, s),
                l, "bias and activation");
  };
}

Enqueue pool_op(const Graph& g, const Layer& l, const float* x, float* y) {
  const Pool2dParams& p = l.pool();
  const Shape in = g.input_shape(l), out = g.output_shape(l);
  PoolGeometry geo;
  geo.planes = in.n * in.c;
  geo.height = in.h, geo.width = in.w, geo.out_h = out.h, geo.out_w = out.w;
  geo.kernel_h = p.kernel_h, geo.kernel_w = p.kernel_w;
  geo.stride_h = p.stride_h, geo.stride_w = p.stride_w;
  geo.pad_h = p.pad_h, geo.pad_w = p.pad_w;
  geo.max = l.op == OpKind::kMaxPool;
  geo.count_include_pad = p.count_include_pad;
  return [=, &l](cudaStream_t s) { check_layer(pool2d(x, y, geo, s), l, "pooling"); };
}

Enqueue batch_norm_op(const Graph& g, const Layer& l, const float* x, float* y, OpResources& res) {
  const Shape s = g.input_shape(l);
  const BatchNormParams& p = l.batch_norm();
  // y = (x - mean) * gamma / sqrt(var + eps) + beta = x * scale + shift, folded in double.
  std::vector<float> scale(s.c), shift(s.c);
  for (int c = 0; c < s.c; ++c) {
    const double k = p.gamma[c] / std::sqrt(static_cast<double>(p.variance[c]) + p.epsilon);
    scale[c] = static_cast<float>(k);
    shift[c] = static_cast<float>(p.beta[c] - p.mean[c] * k);
  }
  const float* dscale = res.upload(scale.data(), scale.size(), "batch norm scale");
  const float* dshift = res.upload(shift.data(), shift.size(), "batch norm shift");
  return [=, &l](cudaStream_t st) {
    check_layer(scale_shift(x, dscale, dshift, y, s.elements(), s.c, s.plane(), st), l,
                "batch norm");
  };
}

// Concatenation along channels: each input is a block of rows (one per image) copied into its
// channel slice of the output's rows.
Enqueue concat_op(const Graph& g, const Layer& l, std::vector<const float*> xs, float* y) {
  const Shape out = g.output_shape(l);
  std::vector<std::size_t> lengths;  // floats of one image of each input
  for (ValueId v : l.inputs) lengths.push_back(g.shape(v).image_elements());
  return [=, &l](cudaStream_t s) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::size_t width = lengths[i] * sizeof(float);
      check_layer(cudaMemcpy2DAsync(y + at, out.image_elements() * sizeof(float), xs[i], width,
                                    width, out.n, cudaMemcpyDeviceToDevice, s),
                  l, "concat copy");
      at += lengths[i];
    }
  };
}

Enqueue elementwise_op(const Graph& g, const Layer& l, std::vector<const float*> xs, float* y) {
  const std::size_t count = g.output_shape(l).elements();
  const Shape in = g.input_shape(l);
  switch (l.op) {
    case OpKind::kRelu:
    case OpKind::kRelu6: {
      const Act act = l.op == OpKind::kRelu ? Act::kRelu : Act::kRelu6;
      return [=, &l](cudaStream_t s) {
        check_layer(add_activation(xs[0], nullptr, y, count, act, s), l, "activation");
      };
    }
    case OpKind::kAdd: {
      const Act act = to_act(l.add().activation);
      return [=, &l](cudaStream_t s) {
        check_layer(add_activation(xs[0], xs[1], y, count, act, s), l, "add");
      };
    }
    case OpKind::kFlatten:
      return [=, &l](cudaStream_t s) {
        check_layer(cudaMemcpyAsync(y, xs[0], count * sizeof(float), cudaMemcpyDeviceToDevice, s),
                    l, "flatten copy");
      };
    case OpKind::kGlobalAvgPool:
      return [=, &l](cudaStream_t s) {
        check_layer(global_avg_pool(xs[0], y, in.n * in.c, in.plane(), s), l, "global pooling");
      };
    case OpKind::kSoftmax:
      return [=, &l](cudaStream_t s) {
        check_layer(softmax_channels(xs[0], y, in.n, in.c, in.plane(), s), l, "softmax");
      };
    default: break;
  }
  throw Error(std::string("gemm:cublas: no device implementation of ") + op_name(l.op));
}

}  // namespace

const float* OpResources::upload(const float* values, std::size_t count, const char* what) {
  constants.push_back(allocate_device<float>(count, what));
  const cuda::DeviceBuffer<float>& buf = constants.back();
  cuda::check(cudaMemcpy(buf.get(), values, count * sizeof(float), cudaMemcpyHostToDevice),
              "gemm:cublas: uploading constants");
  return buf.get();
}

void ensure_free_gpu_memory(std::size_t bytes, const std::string& what) {
  std::size_t free = 0, total = 0;
  cuda::check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  if (bytes <= free) return;
  throw Error("out of GPU memory: gemm:cublas needs " + mib(bytes) + " more for " + what +
              ", the GPU has " + mib(free) + " free of " + mib(total) +
              " (try a smaller batch)");
}

std::size_t col_floats(const Graph& g, const Layer& l) {
  if (l.op != OpKind::kConv2d || l.conv().is_pointwise()) return 0;
  const Conv2dParams& p = l.conv();
  return static_cast<std::size_t>(g.input_shape(l).c) * p.kernel_h * p.kernel_w *
         g.output_shape(l).plane();
}

std::string unsupported_reason(const Graph& g, const Layer& l) {
  constexpr std::size_t kMaxDim = INT_MAX;
  const Shape out = g.output_shape(l);
  if (l.op == OpKind::kReshape) return "reshape (a copy) is left to the baseline";
  if ((l.op == OpKind::kMaxPool || l.op == OpKind::kAvgPool) && !l.pool().symmetric()) {
    return "asymmetric pooling padding is not mapped";
  }
  if (l.op == OpKind::kConv2d) {
    const Conv2dParams& p = l.conv();
    const std::size_t k =
        static_cast<std::size_t>(g.input_shape(l).c / p.groups) * p.kernel_h * p.kernel_w;
    if (out.plane() > kMaxDim || k > kMaxDim) {
      return "an SGEMM dimension exceeds cuBLAS's 32-bit sizes";
    }
  }
  if (l.op == OpKind::kFullyConnected && g.input_shape(l).image_elements() > kMaxDim) {
    return "an SGEMM dimension exceeds cuBLAS's 32-bit sizes";
  }
  if (l.op == OpKind::kSoftmax && static_cast<std::size_t>(out.n) * out.plane() > kMaxDim) {
    return "more softmax rows than one kernel launch holds";
  }
  return {};
}

Enqueue make_layer_op(const Graph& g, const Layer& l, std::vector<const float*> inputs,
                      float* output, OpResources& res) {
  switch (l.op) {
    case OpKind::kConv2d: return conv_op(g, l, inputs[0], output, res);
    case OpKind::kFullyConnected: return fully_connected_op(g, l, inputs[0], output, res);
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: return pool_op(g, l, inputs[0], output);
    case OpKind::kBatchNorm: return batch_norm_op(g, l, inputs[0], output, res);
    case OpKind::kConcat: return concat_op(g, l, std::move(inputs), output);
    default: return elementwise_op(g, l, std::move(inputs), output);
  }
}

}  // namespace libscout::gemm_cublas
