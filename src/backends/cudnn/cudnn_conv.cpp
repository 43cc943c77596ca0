// Convolution candidates: cuDNN's legacy API (find call, fused bias + activation) and cuBLAS.
#include <algorithm>
#include <string>

#include "backends/cudnn/cudnn_graph_api.h"
#include "backends/cudnn/cudnn_layers.h"

namespace libscout::cudnn {

const char* algo_name(cudnnConvolutionFwdAlgo_t algo) {
  switch (algo) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "unknown";
  }
}

namespace {

// Engine configurations tried per operation graph of the graph API (fused, and conv alone).
constexpr int kGraphApiConfigs = 4;

// Everything a convolution's candidates share; they hold it by shared_ptr.
struct ConvState {
  DeviceView src, x, y;  // src: the layer's input; x: what cuDNN reads (src, or src padded)
  bool padded = false;   // asymmetric padding: x is an explicitly zero-padded copy of src
  int pad_top = 0, pad_left = 0;
  cuda::DeviceBuffer<float> pad_buffer, weight, bias;
  bool has_bias = false;
  Act act = Act::kNone;
  std::shared_ptr<TensorDesc> xd, yd, bd;
  FilterDesc wd;
  ConvDesc cd;

  void prepad(const Exec& e) const {
    if (padded) pad_zeros(at(src, e), at(x, e), pad_top, pad_left, e.stream);
  }
  const float* bias_or_null() const { return has_bias ? bias.get() : nullptr; }
};

void upload(cuda::DeviceBuffer<float>& dst, const float* src, std::size_t count) {
  dst.resize(count);
  check(cudaMemcpy(dst.get(), src, count * sizeof(float), cudaMemcpyHostToDevice),
        "uploading weights");
}

std::shared_ptr<ConvState> make_state(const LayerContext& ctx) {
  const PlannedLayer& pl = ctx.layer;
  const Conv2dParams& p = pl.layer->conv();
  auto st = std::make_shared<ConvState>();
  st->src = ctx.inputs[0];
  st->x = st->src;
  st->y = ctx.output;
  st->act = to_act(pl.activation);
  const bool symmetric = p.pad_top == p.pad_bottom && p.pad_left == p.pad_right;
  int pad_h = p.pad_top, pad_w = p.pad_left;
  if (!symmetric) {  // cuDNN's legacy API pads symmetrically: pad explicitly, then convolve
    st->padded = true;
    st->pad_top = p.pad_top;
    st->pad_left = p.pad_left;
    st->x.h += p.pad_top + p.pad_bottom;
    st->x.w += p.pad_left + p.pad_right;
    st->x.batch_stride = st->x.image_elements();
    st->pad_buffer.resize(static_cast<std::size_t>(st->x.image_elements()) * ctx.images);
    st->x.base = st->pad_buffer.get();
    pad_h = pad_w = 0;
  }
  const Tensor& w = pl.weight();
  upload(st->weight, w.data(), w.size());
  st->has_bias = !pl.bias().empty();
  std::vector<float> zeros(static_cast<std::size_t>(p.out_channels), 0.0f);
  if (st->has_bias) {
    upload(st->bias, pl.bias().data(), pl.bias().size());
  } else {
    upload(st->bias, zeros.data(), zeros.size());  // the fused call needs a bias
  }
  st->xd = tensor_desc(st->x);
  st->yd = tensor_desc(st->y);
  st->bd = channel_desc(p.out_channels);
  check(cudnnSetFilter4dDescriptor(st->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.out_channels,
                                   st->x.c / p.groups, p.kernel_h, p.kernel_w),
        "cudnnSetFilter4dDescriptor");
  check(cudnnSetConvolution2dDescriptor(st->cd, pad_h, pad_w, p.stride_h, p.stride_w,
                                        p.dilation_h, p.dilation_w, CUDNN_CROSS_CORRELATION,
                                        CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(st->cd, p.groups), "cudnnSetConvolutionGroupCount");
  check(cudnnSetConvolutionMathType(st->cd, ctx.lib.conv_math()), "cudnnSetConvolutionMathType");
  int n = 0, c = 0, h = 0, wd = 0;
  check(cudnnGetConvolution2dForwardOutputDim(st->cd, *st->xd, st->wd, &n, &c, &h, &wd),
        "cudnnGetConvolution2dForwardOutputDim");
  if (n != st->y.n || c != st->y.c || h != st->y.h || wd != st->y.w) {
    throw Error("cudnn: convolution '" + pl.layer->name + "': cuDNN's output size " +
                std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
                std::to_string(wd) + " is not the graph's");
  }
  return st;
}

// cuDNN's find call: every algorithm run and timed on these shapes, fastest first; only those
// that ran within the workspace limit are kept. For grouped (depthwise) convolutions the find call
// runs some algorithms group by group, seconds per layer, so cuDNN's heuristic ranking is taken
// instead; either way the chooser then measures the candidates.
std::vector<cudnnConvolutionFwdAlgoPerf_t> find_algorithms(const ConvState& st,
                                                           const LayerContext& ctx, int groups) {
  ctx.lib.bind(ctx.stream);
  st.prepad(Exec{&ctx.lib, ctx.stream, &ctx.workspace});
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  if (groups > 1) {
    check(cudnnGetConvolutionForwardAlgorithm_v7(ctx.lib.dnn(), *st.xd, st.wd, st.cd, *st.yd,
                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                 perf),
          "cudnnGetConvolutionForwardAlgorithm_v7");
  } else {
    check(cudnnFindConvolutionForwardAlgorithmEx(
              ctx.lib.dnn(), *st.xd, st.x.base, st.wd, st.weight.get(), st.cd, *st.yd,
              st.y.base, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf, ctx.workspace.data(),
              ctx.workspace.bytes()),
          "cudnnFindConvolutionForwardAlgorithmEx");
  }
  std::vector<cudnnConvolutionFwdAlgoPerf_t> ok;
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > ctx.workspace.bytes()) continue;
    if (!ctx.lib.allow_tf32() && perf[i].mathType == CUDNN_TENSOR_OP_MATH) continue;
    ok.push_back(perf[i]);
  }
  return ok;
}

const char* epilogue_name(const ConvState& st) {
  if (st.act == Act::kRelu) return st.has_bias ? " + bias/relu kernel" : " + relu kernel";
  if (st.act == Act::kRelu6) return st.has_bias ? " + bias/relu6 kernel" : " + relu6 kernel";
  return st.has_bias ? " + bias kernel" : "";
}

Candidate unfused(const std::shared_ptr<ConvState>& st, cudnnConvolutionFwdAlgo_t algo,
                  std::size_t ws) {
  Candidate c;
  c.name = std::string("cudnn ") + algo_name(algo) + epilogue_name(*st);
  c.workspace = ws;
  c.run = [st, algo, ws](const Exec& e) {
    st->prepad(e);
    const DeviceView x = at(st->x, e), y = at(st->y, e);
    const float one = 1.0f, zero = 0.0f;
    check(cudnnConvolutionForward(e.lib->dnn(), &one, *st->xd, x.base, st->wd, st->weight.get(),
                                  st->cd, algo, e.workspace->data(), ws, &zero, *st->yd, y.base),
          "cudnnConvolutionForward");
    bias_activation(y, st->bias_or_null(), st->act, e.stream);
  };
  return c;
}

// cudnnConvolutionBiasActivationForward: ReLU, ReLU6 as a clipped ReLU (where cuDNN takes it),
// or identity (IMPLICIT_PRECOMP_GEMM only).
Candidate fused(const std::shared_ptr<ConvState>& st, cudnnConvolutionFwdAlgo_t algo,
                std::size_t ws) {
  static const char* const kAct[] = {"identity", "relu", "clipped relu 6"};
  Candidate c;
  c.name = std::string("cudnn ") + algo_name(algo) + " fused bias+" + kAct[int(st->act)];
  c.workspace = ws;
  std::shared_ptr<ActDesc> act = activation_desc(st->act);
  c.run = [st, algo, ws, act](const Exec& e) {
    st->prepad(e);
    const DeviceView x = at(st->x, e), y = at(st->y, e);
    const float one = 1.0f, zero = 0.0f;
    check(cudnnConvolutionBiasActivationForward(
              e.lib->dnn(), &one, *st->xd, x.base, st->wd, st->weight.get(), st->cd, algo,
              e.workspace->data(), ws, &zero, *st->yd, y.base, *st->bd, st->bias.get(), *act,
              *st->yd, y.base),
          "cudnnConvolutionBiasActivationForward");
  };
  return c;
}

// A 1x1 stride-1 convolution is a GEMM per image: Y_n (Cout x HW) = W (Cout x Cin) X_n (Cin x HW),
// in cuBLAS's column-major terms Y_n^T = X_n^T W^T.
Candidate pointwise_gemm(const std::shared_ptr<ConvState>& st) {
  Candidate c;
  c.name = std::string(st->y.n == 1 ? "cublas sgemm" : "cublas sgemm strided batched") +
           epilogue_name(*st);
  c.run = [st](const Exec& e) {
    const DeviceView x = at(st->x, e), y = at(st->y, e);
    const int hw = y.h * y.w, cin = x.c, cout = y.c;
    const float one = 1.0f, zero = 0.0f;
    if (y.n == 1) {
      check(cublasSgemm(e.lib->blas(), CUBLAS_OP_N, CUBLAS_OP_N, hw, cout, cin, &one, x.base, hw,
                        st->weight.get(), cin, &zero, y.base, hw),
            "cublasSgemm");
    } else {
      check(cublasSgemmStridedBatched(e.lib->blas(), CUBLAS_OP_N, CUBLAS_OP_N, hw, cout, cin,
                                      &one, x.base, hw, x.batch_stride, st->weight.get(), cin, 0,
                                      &zero, y.base, hw, y.batch_stride, y.n),
            "cublasSgemmStridedBatched");
    }
    bias_activation(y, st->bias_or_null(), st->act, e.stream);
  };
  return c;
}

}  // namespace

std::vector<Candidate> conv_candidates(const LayerContext& ctx) {
  const Conv2dParams& p = ctx.layer.layer->conv();
  std::shared_ptr<ConvState> st = make_state(ctx);
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> found = find_algorithms(*st, ctx, p.groups);
  std::vector<Candidate> out;
  // The check: IMPLICIT_GEMM (a direct method, no workspace) where it runs, else the fastest.
  auto check_it = std::find_if(found.begin(), found.end(), [](const auto& f) {
    return f.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  });
  if (check_it == found.end()) check_it = found.begin();
  if (check_it != found.end()) out.push_back(unfused(st, check_it->algo, check_it->memory));
  // The three fastest by the find call, unfused and fused.
  const bool any_epilogue = st->has_bias || st->act != Act::kNone;
  for (std::size_t i = 0; i < found.size() && i < 3; ++i) {
    const auto& f = found[i];
    if (&f != &*check_it) out.push_back(unfused(st, f.algo, f.memory));
    const bool identity_ok = f.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    if (any_epilogue && (st->act != Act::kNone || identity_ok)) {
      out.push_back(fused(st, f.algo, f.memory));
    }
  }
  if (p.is_pointwise() && p.groups == 1 && !st->padded) out.push_back(pointwise_gemm(st));
  if (graph_api_enabled()) {
    ConvProblem problem{st->src, st->y, &p, st->weight.get(), st->bias.get(), st->has_bias,
                        st->act, st};
    for (Candidate& c : graph_api_conv_candidates(problem, ctx.lib, kGraphApiConfigs)) {
      out.push_back(std::move(c));
    }
  }
  if (out.empty()) {
    throw Error("cudnn: convolution '" + ctx.layer.layer->name +
                "': cuDNN's find call found no algorithm that runs within the workspace limit (" +
                mib(ctx.workspace.bytes()) + ")");
  }
  return out;
}

}  // namespace libscout::cudnn
