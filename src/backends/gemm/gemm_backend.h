// `gemm:<provider>`: the paper's baseline, Caffe's way of running a CNN. Convolution is lowered to
// GEMM (im2col, then one SGEMM per image and group; 1x1 stride-1 convolutions skip im2col, and
// depthwise convolutions become one tiny GEMM per channel, which is why MobileNet is slow in
// Caffe); fully connected layers are one SGEMM; everything else runs on simple portable code.
#pragma once

#include <memory>

#include "core/backend.h"
#include "gemm/gemm_provider.h"

namespace libscout {

std::unique_ptr<Backend> make_gemm_backend(std::unique_ptr<gemm::Provider> provider);

// Caffe's im2col for one image and one group: `in` is (channels, h, w); `col` receives
// (channels * kh * kw, out_h * out_w).
void im2col(const float* in, int channels, int h, int w, const Conv2dParams& p, int out_h,
            int out_w, float* col);

// Time spent inside the provider's sgemm calls since the last reset, for the engine-overhead
// benchmark (enabled per backend; off by default so ordinary runs read no clock).
struct GemmTimeAccount {
  bool enabled = false;
  double seconds = 0;
  long calls = 0;
};
GemmTimeAccount& gemm_time_account(Backend& gemm_backend);

}  // namespace libscout
