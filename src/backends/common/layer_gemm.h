// The SGEMM that a layer is, for the backends that run layers as GEMMs on the engine's NCHW
// buffers (gemm:<provider>, native).
#pragma once

#include <algorithm>
#include <limits>

#include "core/backend.h"
#include "gemm/gemm_provider.h"

namespace libscout {

// A fully connected layer: y (batch x out) = x (batch x in) W^T, without its bias.
inline gemm::SgemmArgs fully_connected_gemm(const Graph& g, const Layer& l, const ExecContext& ctx) {
  const Shape& in = g.input_shape(l);
  const int in_f = static_cast<int>(in.image_elements()), out_f = l.fc().out_features;
  gemm::SgemmArgs args;
  args.trans_b = gemm::Trans::kYes;
  args.m = in.n;
  args.n = out_f;
  args.k = in_f;
  args.a = ctx.data(l.inputs[0]);
  args.lda = in_f;
  args.b = l.weight.data();
  args.ldb = in_f;
  args.c = ctx.data(l.output);
  args.ldc = out_f;
  return args;
}

// After fully_connected_gemm(): y += bias per output feature, then the fused activation, for
// every image of the batch.
inline void fully_connected_epilogue(const Graph& g, const Layer& l, const ExecContext& ctx) {
  const int batch = g.input_shape(l).n, out_f = l.fc().out_features;
  const Activation a = l.fc().activation;
  const float lo = a == Activation::kNone ? -std::numeric_limits<float>::infinity() : 0.0f;
  const float hi = a == Activation::kRelu6 ? 6.0f : std::numeric_limits<float>::infinity();
  float* y = ctx.data(l.output);
  for (int n = 0; n < batch; ++n, y += out_f) {
    for (int o = 0; o < out_f; ++o) {
      const float v = y[o] + (l.bias.empty() ? 0.0f : l.bias[o]);
      y[o] = std::min(std::max(v, lo), hi);
    }
  }
}

}  // namespace libscout
