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

// V and M of one block of tiles at most (about): fewer blocks repack the input's phases less often
// and give the GEMMs wider products. ResNet-18's layer1 conv (56x56x64, one block at 4 MiB) on
// Zen 5, 1 thread (bench_native_kernels): 709 us at 1 MiB, 573 at 2, 535-540 at 4, 582 at 8.
constexpr std::size_t kBlockBytes = std::size_t{1} << 22;
// With several threads and enough tiles, each thread takes blocks of its own through all three
// phases (its V and M stay in its core's caches; the phases need no barrier between them), blocks
// of at most this much, at least kMinPrivateTiles tiles each. (On Zen 5, 2 threads, shared
// blocks: the transforms of ResNet-18's layer1 did not get faster at all, as the threads' V and M
// went through L3.)
constexpr std::size_t kPrivateBlockBytes = std::size_t{1} << 20;
constexpr int kMinPrivateTiles = 28;

class WinogradConv final : public LayerKernel {
 public:
  WinogradConv(const Graph& g, const Layer& l, const KernelEnv& env)
      : layer_(l), env_(env), in_(g.input_shape(l)), out_(g.output_shape(l)) {
    const int nr = env.gemm.kernel->nr;
    const int lanes = env.simd->lanes;
    tiles_w_ = (out_.w + 3) / 4;
    const int tiles_h = (out_.h + 3) / 4;
    per_image_ = tiles_h * tiles_w_;
    tiles_ = in_.n * per_image_;
    const std::size_t per_tile = kPoints * sizeof(float) * (in_.c + out_.c);
    const int threads = env.pool->threads();
    private_ = threads > 1 && tiles_ >= threads * kMinPrivateTiles;
    if (private_) {
      const int fit = static_cast<int>(kPrivateBlockBytes / per_tile);
      const int share = (tiles_ + threads - 1) / threads;
      block_ = std::min(share, std::max(kMinPrivateTiles, fit));
    } else {
      const int fit = static_cast<int>(kBlockBytes / per_tile) / nr * nr;
      block_ = std::min(tiles_, std::max(nr, fit));
    }
    ld_ = static_cast<int>(whole_lines(block_ + lanes));
    pitch_ = (tiles_w_ + 1 + 2 * lanes - 1) / lanes * lanes;
    band_rows_ = 4 * std::min(tiles_h, (block_ + tiles_w_ - 1) / tiles_w_ + 1) + 2;
    transform_weights();
    activation_bounds(l.conv().activation, lo_, hi_);
    bias_.assign(out_.c, 0.0f);
    if (!l.bias.empty()) std::copy_n(l.bias.data(), out_.c, bias_.data());
    task_floats_ = whole_lines(4 * phase_stride()) + whole_lines(gemm_buffer_floats(env.gemm, u_[0]));
  }

  std::size_t workspace_bytes() const override {
    const std::size_t threads = env_.pool->threads();
    if (private_) return sizeof(float) * threads * (v_floats() + m_floats() + task_floats_);
    return sizeof(float) * (v_floats() + m_floats() + task_floats_ * threads);
  }

  void run(const ExecContext& ctx) override {
    const float* x = ctx.data(layer_.inputs[0]);
    float* y = ctx.data(layer_.output);
    if (private_) {
      const int blocks = (tiles_ + block_ - 1) / block_;
      const std::size_t per_task = v_floats() + m_floats() + task_floats_;
      parallel_chunks(*env_.pool, blocks, [&](int task, int b0, int b1) {
        float* v = ctx.workspace + task * per_task;
        float* m = v + v_floats();
        float* scratch = m + m_floats();
        for (int b = b0; b < b1; ++b) {
          const int t0 = b * block_, count = std::min(block_, tiles_ - t0);
          input_channels(x, t0, count, v, scratch, 0, in_.c);
          multiply_points(v, m, count, scratch, 0, kPoints);
          output_channels(m, t0, count, y, 0, out_.c);
        }
      });
      return;
    }
    float* v = ctx.workspace;
    float* m = v + v_floats();
    float* tasks = m + m_floats();
    for (int t0 = 0; t0 < tiles_; t0 += block_) {
      const int count = std::min(block_, tiles_ - t0);
      parallel_chunks(*env_.pool, in_.c, [&](int task, int c0, int c1) {
        input_channels(x, t0, count, v, tasks + task * task_floats_, c0, c1);
      });
      parallel_chunks(*env_.pool, kPoints, [&](int task, int p0, int p1) {
        multiply_points(v, m, count, tasks + task * task_floats_, p0, p1);
      });
      parallel_chunks(*env_.pool, out_.c,
                      [&](int, int c0, int c1) { output_channels(m, t0, count, y, c0, c1); });
    }
  }

 private:
  // Floats between the points of V and of M: one cache line more than their rows, so that the 36
  // rows of one column a transform reads or writes do not all fall into one cache set.
  std::size_t v_point() const { return static_cast<std::size_t>(in_.c) * ld_ + 16; }
  std::size_t m_point() const { return static_cast<std::size_t>(out_.c) * ld_ + 16; }
  std::size_t v_floats() const { return kPoints * v_point(); }
  std::size_t m_floats() const { return kPoints * m_point(); }
  std::size_t phase_stride() const { return static_cast<std::size_t>(band_rows_) * pitch_; }

  // U[xi] (Cout x Cin, the GEMM's A) packed into the micro-kernel's panels, one matrix per point.
  void transform_weights() {
    const int cin = in_.c, cout = out_.c;
    std::vector<float> ut(std::size_t{kPoints} * cout * cin);
    for (int oc = 0; oc < cout; ++oc) {
      for (int ic = 0; ic < cin; ++ic) {
        const auto t = winograd_weight_transform(layer_.weight.data() + (oc * cin + ic) * 9);
        for (int xi = 0; xi < kPoints; ++xi) {
          ut[(static_cast<std::size_t>(xi) * cout + oc) * cin + ic] = static_cast<float>(t[xi]);
        }
      }
    }
    for (int xi = 0; xi < kPoints; ++xi) {
      u_.emplace_back(ut.data() + static_cast<std::size_t>(xi) * cout * cin, cout, cin, cin,
                      env_.gemm.kernel->mr, env_.gemm.blocking.kc);
    }
  }

  // Calls fn(n, ty, tx, count, column) for each run of tiles of one tile row among the tiles
  // [t0, t0 + count): image n, tile row ty, tiles [tx, tx + count), at `column` of the block.
  template <typename Fn>
  void for_each_span(int t0, int count, Fn&& fn) const {
    for (int t = t0; t < t0 + count;) {
      const int n = t / per_image_, r = t % per_image_, ty = r / tiles_w_, tx = r % tiles_w_;
      const int len = std::min(tiles_w_ - tx, t0 + count - t);
      fn(n, ty, tx, len, t - t0);
      t += len;
    }
  }

  // Rows [c0, c1) of V[xi] (Cin x block, row stride ld_) for the tiles [t0, t0 + count), with the
  // task's scratch (the phase planes, then the GEMM's buffer).
  void input_channels(const float* x, int t0, int count, float* v, float* scratch, int c0,
                      int c1) const {
    const int first = t0 / per_image_, last = (t0 + count - 1) / per_image_;
    for (int c = c0; c < c1; ++c) {
      for (int n = first; n <= last; ++n) {
        // The tile rows of image n in this block, packed once for all their spans.
        const int b = std::max(t0, n * per_image_) - n * per_image_;
        const int e = std::min(t0 + count, (n + 1) * per_image_) - n * per_image_;
        const int ty0 = b / tiles_w_, ty1 = (e - 1) / tiles_w_ + 1;
        env_.simd->winograd_phases({x + (static_cast<std::size_t>(n) * in_.c + c) * in_.plane(),
                                    in_.h, in_.w, layer_.conv().pad_top, layer_.conv().pad_left,
                                    4 * ty0, 4 * (ty1 - ty0) + 2, scratch,
                                    static_cast<long>(phase_stride()), pitch_});
        for_each_span(n * per_image_ + b, e - b, [&](int, int ty, int tx, int len, int col) {
          const int column = col + (n * per_image_ + b - t0);
          env_.simd->winograd_input_row(
              {scratch + static_cast<std::size_t>(4 * (ty - ty0)) * pitch_ + tx,
               static_cast<long>(phase_stride()), pitch_, len,
               v + static_cast<std::size_t>(c) * ld_ + column, static_cast<long>(v_point())});
        });
      }
    }
  }

  // M[xi] (Cout x block) = U[xi] V[xi] for the points [p0, p1).
  void multiply_points(const float* v, float* m, int count, float* scratch, int p0, int p1) const {
    float* buf = scratch + whole_lines(4 * phase_stride());
    for (int xi = p0; xi < p1; ++xi) {
      gemm_packed_a_serial(env_.gemm, u_[xi], v + xi * v_point(), ld_, count, m + xi * m_point(),
                           ld_, {}, buf);
    }
  }

  // Output channels [c0, c1) of the tiles [t0, t0 + count).
  void output_channels(const float* m, int t0, int count, float* y, int c0, int c1) const {
    for (int oc = c0; oc < c1; ++oc) {
      for_each_span(t0, count, [&](int n, int ty, int tx, int len, int col) {
        float* plane = y + (static_cast<std::size_t>(n) * out_.c + oc) * out_.plane();
        env_.simd->winograd_output_row(
            {m + static_cast<std::size_t>(oc) * ld_ + col, static_cast<long>(m_point()), len,
             bias_[oc], lo_, hi_, plane + static_cast<std::size_t>(4 * ty) * out_.w + 4 * tx,
             out_.w, std::min(4, out_.h - 4 * ty), std::min(4 * len, out_.w - 4 * tx)});
      });
    }
  }

  const Layer& layer_;
  KernelEnv env_;
  Shape in_, out_;
  int tiles_w_ = 0, per_image_ = 0, tiles_ = 0, block_ = 0;
  int ld_ = 0, pitch_ = 0, band_rows_ = 0;
  bool private_ = false;  // each thread its own blocks (see kPrivateBlockBytes)
  std::size_t task_floats_ = 0;
  float lo_ = 0, hi_ = 0;
  std::vector<float> bias_;
  std::vector<PackedMatrix> u_;
};

}  // namespace

std::unique_ptr<LayerKernel> make_winograd_conv(const Graph& g, const Layer& l,
                                                const KernelEnv& env) {
  return std::make_unique<WinogradConv>(g, l, env);
}

}  // namespace libscout::native_nn
