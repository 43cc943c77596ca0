#include "backends/native/winograd.h"

#include <algorithm>

namespace libscout::native_nn {

namespace {

constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                             {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                             {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, -1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};
constexpr int kPoints = 36;
constexpr int kMaxLanes = 16;

}  // namespace

std::array<double, 36> winograd_weight_transform(const float* g) {
  double t[6][3] = {};  // G g
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 3; ++k) t[i][j] += kG[i][k] * g[k * 3 + j];
    }
  }
  std::array<double, 36> u{};
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      for (int k = 0; k < 3; ++k) u[i * 6 + j] += t[i][k] * kG[j][k];
    }
  }
  return u;
}

bool winograd_applies(const Graph& g, const Layer& l) {
  const Conv2dParams& p = l.conv();
  return p.groups == 1 && p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 &&
         p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1 &&
         g.input_shape(l).c >= 16 && p.out_channels >= 16;
}

namespace {

class WinogradConv final : public LayerKernel {
 public:
  WinogradConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    mr_ = env.gemm.kernel->mr;
    nr_ = env.gemm.kernel->nr;
    lanes_ = env.simd->lanes;
    cin_ = in_.c;
    cout_pad_ = (out_.c + nr_ - 1) / nr_ * nr_;
    tiles_w_ = (out_.w + 3) / 4;
    tiles_h_ = (out_.h + 3) / 4;
    tiles_ = in_.n * tiles_h_ * tiles_w_;
    // A block of tiles: its V and M (36 x tiles x channels each) about 2 MiB, a multiple of MR.
    const std::size_t per_tile = kPoints * sizeof(float) * (cin_ + cout_pad_);
    const int fit = static_cast<int>(std::max<std::size_t>(1, (2u << 20) / per_tile));
    block_ = std::max(mr_, std::min(fit, tiles_ + mr_ - 1) / mr_ * mr_);
    transform_weights();
    activation_bounds(l.conv().activation, lo_, hi_);
    bias_ = allocate_floats(cout_pad_ + kMaxLanes);
    if (!l.bias.empty()) std::copy_n(l.bias.data(), out_.c, bias_.get());
  }

  std::size_t workspace_bytes() const override {
    return sizeof(float) * kPoints * static_cast<std::size_t>(block_) * (cin_ + cout_pad_);
  }

  void run(const ExecContext& ctx) override {
    float* v = ctx.workspace;
    float* m = v + static_cast<std::size_t>(kPoints) * block_ * cin_;
    for (int t0 = 0; t0 < tiles_; t0 += block_) {
      const int count = std::min(block_, tiles_ - t0);
      input_transform(ctx.data(layer_.inputs[0]), t0, count, v);
      multiply(v, m, count);
      output_transform(m, t0, count, ctx.data(layer_.output));
    }
  }

 private:
  // U[xi] (Cin x Cout) as NR-wide panels over the whole depth: [xi][panel][cin][NR].
  void transform_weights() {
    const int panels = cout_pad_ / nr_;
    const std::size_t per_point = static_cast<std::size_t>(panels) * cin_ * nr_;
    u_ = allocate_floats(kPoints * per_point);
    for (int oc = 0; oc < out_.c; ++oc) {
      for (int ic = 0; ic < cin_; ++ic) {
        const auto t = winograd_weight_transform(layer_.weight.data() + (oc * cin_ + ic) * 9);
        float* dst = u_.get() + (static_cast<std::size_t>(oc / nr_) * cin_ + ic) * nr_ + oc % nr_;
        for (int xi = 0; xi < kPoints; ++xi) dst[xi * per_point] = static_cast<float>(t[xi]);
      }
    }
  }

  // The 6x6 input patch of `tile` (global index) in channel c, lane-interleaved into d.
  void gather(const float* x, int tile, int c, int lane, float* d) const {
    const int per_image = tiles_h_ * tiles_w_, n = tile / per_image, r = tile % per_image;
    const int iy0 = r / tiles_w_ * 4 - layer_.conv().pad_top;
    const int ix0 = r % tiles_w_ * 4 - layer_.conv().pad_left;
    const float* plane = x + (static_cast<std::size_t>(n) * cin_ + c) * in_.plane();
    for (int i = 0; i < 6; ++i) {
      const int iy = iy0 + i;
      const bool row_in = iy >= 0 && iy < in_.h;
      for (int j = 0; j < 6; ++j) {
        const int ix = ix0 + j;
        const bool in = row_in && ix >= 0 && ix < in_.w;
        d[(i * 6 + j) * lanes_ + lane] = in ? plane[static_cast<std::size_t>(iy) * in_.w + ix] : 0.0f;
      }
    }
  }

  void input_transform(const float* x, int t0, int count, float* v) const {
    const int panels = block_ / mr_;
    parallel_chunks(*env_.pool, cin_, [&](int, int c0, int c1) {
      alignas(64) float d[kPoints * kMaxLanes], vt[kPoints * kMaxLanes];
      for (int c = c0; c < c1; ++c) {
        for (int t = 0; t < block_; t += lanes_) {
          for (int l = 0; l < lanes_; ++l) {
            if (t + l < count) {
              gather(x, t0 + t + l, c, l, d);
            } else {
              for (int e = 0; e < kPoints; ++e) d[e * lanes_ + l] = 0.0f;
            }
          }
          env_.simd->winograd_input(d, vt);
          for (int l = 0; l < lanes_ && t + l < block_; ++l) {
            const int tile = t + l;
            float* dst = v + (static_cast<std::size_t>(tile / mr_) * cin_ + c) * mr_ + tile % mr_;
            for (int e = 0; e < kPoints; ++e) {
              dst[static_cast<std::size_t>(e) * panels * cin_ * mr_] = vt[e * lanes_ + l];
            }
          }
        }
      }
    });
  }

  // M[xi] (block x Cout_pad) = V[xi] U[xi], one task per point.
  void multiply(const float* v, float* m, int count) const {
    const auto& kern = *env_.gemm.kernel;
    const int row_panels = (count + mr_ - 1) / mr_, col_panels = cout_pad_ / nr_;
    const int kc_max = std::max(8, env_.gemm.blocking.kc);
    const int slices = (cin_ + kc_max - 1) / kc_max, kc = (cin_ + slices - 1) / slices;
    auto point = [&](std::size_t xi) {
      const float* a = v + xi * (block_ / mr_) * static_cast<std::size_t>(cin_) * mr_;
      const float* b = u_.get() + xi * col_panels * static_cast<std::size_t>(cin_) * nr_;
      float* c = m + xi * static_cast<std::size_t>(block_) * cout_pad_;
      for (int k0 = 0; k0 < cin_; k0 += kc) {
        const int kcb = std::min(kc, cin_ - k0);
        for (int jp = 0; jp < col_panels; ++jp) {
          const float* bp = b + (static_cast<std::size_t>(jp) * cin_ + k0) * nr_;
          for (int ip = 0; ip < row_panels; ++ip) {
            kern.fn(kcb, a + (static_cast<std::size_t>(ip) * cin_ + k0) * mr_, bp,
                    c + static_cast<std::size_t>(ip) * mr_ * cout_pad_ + jp * nr_, cout_pad_,
                    k0 == 0 ? 0.0f : 1.0f);
          }
        }
      }
    };
    env_.pool->parallel_for(static_cast<std::size_t>(kPoints), point);
  }

  void output_transform(const float* m, int t0, int count, float* y) const {
    parallel_chunks(*env_.pool, count, [&](int, int b, int e) {
      alignas(64) float out[16 * kMaxLanes];
      for (int t = b; t < e; ++t) {
        const int tile = t0 + t, per_image = tiles_h_ * tiles_w_;
        const int n = tile / per_image, r = tile % per_image;
        const int oy0 = r / tiles_w_ * 4, ox0 = r % tiles_w_ * 4;
        const int rows = std::min(4, out_.h - oy0), cols = std::min(4, out_.w - ox0);
        for (int oc = 0; oc < out_.c; oc += lanes_) {
          WinogradOutputArgs args{m + static_cast<std::size_t>(t) * cout_pad_ + oc,
                                  static_cast<long>(block_) * cout_pad_, out,
                                  bias_.get() + oc, lo_, hi_};
          env_.simd->winograd_output(args);
          const int lanes = std::min(lanes_, out_.c - oc);
          for (int l = 0; l < lanes; ++l) {
            float* dst = y + ((static_cast<std::size_t>(n) * out_.c + oc + l) * out_.h + oy0) *
                                 out_.w + ox0;
            for (int i = 0; i < rows; ++i) {
              for (int j = 0; j < cols; ++j) dst[i * out_.w + j] = out[(i * 4 + j) * lanes_ + l];
            }
          }
        }
      }
    });
  }

  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  int mr_ = 1, nr_ = 1, lanes_ = 1, cin_ = 0, cout_pad_ = 0;
  int tiles_w_ = 0, tiles_h_ = 0, tiles_ = 0, block_ = 0;
  float lo_ = 0, hi_ = 0;
  std::unique_ptr<float[], AlignedFree> u_, bias_;
};

}  // namespace

std::unique_ptr<LayerKernel> make_winograd_conv(const Graph& g, const Layer& l,
                                                const KernelEnv& env) {
  return std::make_unique<WinogradConv>(g, l, env);
}

}  // namespace libscout::native_nn
