// Candidates of every layer but the convolution (cudnn_conv.cpp).
#include "backends/cudnn/cudnn_layers.h"

#include <string>

namespace libscout::cudnn {

namespace {

std::shared_ptr<cuda::DeviceBuffer<float>> device_copy(const std::vector<float>& v) {
  auto d = std::make_shared<cuda::DeviceBuffer<float>>(v.size());
  check(cudaMemcpy(d->get(), v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice),
        "uploading layer constants");
  return d;
}

std::shared_ptr<cuda::DeviceBuffer<float>> device_copy(const Tensor& t) {
  return device_copy(std::vector<float>(t.data(), t.data() + t.size()));
}

// Caffe's output size matches cuDNN's (floor) one: then every window lies inside the padded
// input, and cuDNN's divisor (the whole window, or its part inside the input) is Caffe's.
bool cudnn_pool_fits(const DeviceView& x, const DeviceView& y, const PoolWindow& w) {
  if (w.pad_h >= w.kernel_h || w.pad_w >= w.kernel_w) return false;
  const int fh = (x.h + 2 * w.pad_h - w.kernel_h) / w.stride_h + 1;
  const int fw = (x.w + 2 * w.pad_w - w.kernel_w) / w.stride_w + 1;
  return fh == y.h && fw == y.w;
}

Candidate cudnn_pool(const DeviceView& x, const DeviceView& y, const PoolWindow& w) {
  auto desc = std::make_shared<PoolDesc>();
  cudnnPoolingMode_t mode = CUDNN_POOLING_MAX;
  if (!w.is_max) {
    mode = w.count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                               : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  }
  check(cudnnSetPooling2dDescriptor(*desc, mode, CUDNN_PROPAGATE_NAN, w.kernel_h, w.kernel_w,
                                    w.pad_h, w.pad_w, w.stride_h, w.stride_w),
        "cudnnSetPooling2dDescriptor");
  auto xd = tensor_desc(x), yd = tensor_desc(y);
  return {"cudnn pooling", 0, [=](const Exec& e) {
            const float one = 1.0f, zero = 0.0f;
            check(cudnnPoolingForward(e.lib->dnn(), *desc, &one, *xd, at(x, e).base, &zero, *yd,
                                      at(y, e).base),
                  "cudnnPoolingForward");
          }};
}

Candidate caffe_pool_kernel(const DeviceView& x, const DeviceView& y, const PoolWindow& w) {
  return {"caffe pooling kernel", 0,
          [=](const Exec& e) { caffe_pool(at(x, e), at(y, e), w, e.stream); }};
}

Candidate softmax(const DeviceView& x, const DeviceView& y) {
  auto xd = tensor_desc(x), yd = tensor_desc(y);
  return {"cudnn softmax (channel mode)", 0, [=](const Exec& e) {
            const float one = 1.0f, zero = 0.0f;
            check(cudnnSoftmaxForward(e.lib->dnn(), CUDNN_SOFTMAX_ACCURATE,
                                      CUDNN_SOFTMAX_MODE_CHANNEL, &one, *xd, at(x, e).base, &zero,
                                      *yd, at(y, e).base),
                  "cudnnSoftmaxForward");
          }};
}

Candidate batch_norm(const Layer& l, const DeviceView& x, const DeviceView& y) {
  const BatchNormParams& p = l.batch_norm();
  auto gamma = device_copy(p.gamma), beta = device_copy(p.beta);
  auto mean = device_copy(p.mean), var = device_copy(p.variance);
  auto xd = tensor_desc(x), yd = tensor_desc(y), pd = channel_desc(x.c);
  const double eps = p.epsilon;
  return {"cudnn batch norm (inference)", 0, [=](const Exec& e) {
            const float one = 1.0f, zero = 0.0f;
            check(cudnnBatchNormalizationForwardInference(
                      e.lib->dnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, *xd, at(x, e).base,
                      *yd, at(y, e).base, *pd, gamma->get(), beta->get(), mean->get(), var->get(),
                      eps),
                  "cudnnBatchNormalizationForwardInference");
          }};
}

Candidate activation(Act act, const DeviceView& x, const DeviceView& y) {
  auto xd = tensor_desc(x), yd = tensor_desc(y);
  auto ad = activation_desc(act);
  return {act == Act::kRelu ? "cudnn relu" : "cudnn clipped relu 6", 0, [=](const Exec& e) {
            const float one = 1.0f, zero = 0.0f;
            check(cudnnActivationForward(e.lib->dnn(), *ad, &one, *xd, at(x, e).base, &zero, *yd,
                                         at(y, e).base),
                  "cudnnActivationForward");
          }};
}

// Concat inputs that their producer could not write in place are copied into their slice, one
// 2-D copy each (a row per image).
Candidate concat_copies(const PlannedLayer& pl, const std::vector<DeviceView>& ins,
                        const DeviceView& y) {
  std::vector<std::pair<DeviceView, DeviceView>> copies;
  std::int64_t channel = 0;
  for (std::size_t k = 0; k < ins.size(); ++k) {
    if (pl.copy_input[k]) {
      DeviceView slice = ins[k];
      slice.base = y.base + channel * y.h * y.w;
      slice.batch_stride = y.batch_stride;
      copies.emplace_back(ins[k], slice);
    }
    channel += ins[k].c;
  }
  const std::string name = copies.empty() ? "concat: written in place by its producers"
                                          : "concat: " + std::to_string(copies.size()) +
                                                " of " + std::to_string(ins.size()) +
                                                " inputs copied, the rest written in place";
  return {name, 0, [copies](const Exec& e) {
            for (const auto& [from, to] : copies) {
              const DeviceView src = at(from, e), dst = at(to, e);
              check(cudaMemcpy2DAsync(dst.base, dst.batch_stride * sizeof(float), src.base,
                                      src.batch_stride * sizeof(float),
                                      src.image_elements() * sizeof(float), src.n,
                                      cudaMemcpyDeviceToDevice, e.stream),
                    "cudaMemcpy2DAsync (concat)");
            }
          }};
}

}  // namespace

std::vector<Candidate> fully_connected_candidates(const LayerContext& ctx) {
  const PlannedLayer& pl = ctx.layer;
  const DeviceView x0 = ctx.inputs[0], y0 = ctx.output;
  auto w = device_copy(pl.weight());
  auto b = pl.bias().empty() ? nullptr : device_copy(pl.bias());
  const Act act = to_act(pl.activation);
  const int in_f = static_cast<int>(x0.image_elements()), out_f = y0.c;
  // Y^T (out x N, column-major, ld = Y's batch stride) = W (out x in) X^T (in x N).
  return {{"cublas sgemm + bias kernel", 0, [=](const Exec& e) {
             const DeviceView x = at(x0, e), y = at(y0, e);
             const float one = 1.0f, zero = 0.0f;
             check(cublasSgemm(e.lib->blas(), CUBLAS_OP_T, CUBLAS_OP_N, out_f, x.n, in_f, &one,
                               w->get(), in_f, x.base, static_cast<int>(x.batch_stride), &zero,
                               y.base, static_cast<int>(y.batch_stride)),
                   "cublasSgemm (fully connected)");
             bias_activation(y, b ? b->get() : nullptr, act, e.stream);
           }}};
}

std::vector<Candidate> pool_candidates(const LayerContext& ctx) {
  const Layer& l = *ctx.layer.layer;
  const DeviceView x = ctx.inputs[0], y = ctx.output;
  PoolWindow w{};
  if (l.op == OpKind::kGlobalAvgPool) {
    w = {x.h, x.w, 1, 1, 0, 0, false, true};
  } else {
    const Pool2dParams& p = l.pool();
    w = {p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
         l.op == OpKind::kMaxPool, p.count_include_pad};
  }
  std::vector<Candidate> out{caffe_pool_kernel(x, y, w)};
  out.push_back({"caffe pooling kernel, input rows in shared memory", 0, [=](const Exec& e) {
                   if (!caffe_pool_rows(at(x, e), at(y, e), w, e.stream)) {
                     throw Error("a band of input rows does not fit in shared memory");
                   }
                 }});
  if (cudnn_pool_fits(x, y, w)) out.push_back(cudnn_pool(x, y, w));
  return out;
}

std::vector<Candidate> other_candidates(const LayerContext& ctx) {
  const PlannedLayer& pl = ctx.layer;
  const Layer& l = *pl.layer;
  const DeviceView y = ctx.output;
  switch (l.op) {
    case OpKind::kSoftmax: return {softmax(ctx.inputs[0], y)};
    case OpKind::kBatchNorm: return {batch_norm(l, ctx.inputs[0], y)};
    case OpKind::kRelu: return {activation(Act::kRelu, ctx.inputs[0], y)};
    case OpKind::kRelu6: return {activation(Act::kRelu6, ctx.inputs[0], y)};
    case OpKind::kConcat: return {concat_copies(pl, ctx.inputs, y)};
    case OpKind::kAdd: {
      const DeviceView a = ctx.inputs[0], b = ctx.inputs[1];
      const Act act = to_act(pl.activation);
      return {{"add kernel", 0, [=](const Exec& e) {
                 add_activation(at(a, e), at(b, e), at(y, e), act, e.stream);
               }}};
    }
    default: break;
  }
  throw Error(std::string("cudnn: no implementation of ") + op_name(l.op));
}

}  // namespace libscout::cudnn
