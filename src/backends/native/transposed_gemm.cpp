#include "backends/native/transposed_gemm.h"

#include <algorithm>
#include <utility>

namespace libscout::native_nn {

PackedColumns::PackedColumns(const float* a, int m, int k, std::size_t lda, int nr)
    : m_(m), k_(k), nr_(nr), panels_((m + nr - 1) / nr) {
  data_ = allocate_floats(static_cast<std::size_t>(panels_) * nr * k + 16);  // zero-filled
  for (int q = 0; q < panels_; ++q) {
    float* dst = data_.get() + static_cast<std::size_t>(q) * nr * k;
    const int rows = std::min(nr, m - q * nr);
    for (int j = 0; j < rows; ++j) {
      const float* src = a + (static_cast<std::size_t>(q) * nr + j) * lda;
      for (int p = 0; p < k; ++p) dst[static_cast<std::size_t>(p) * nr + j] = src[p];
    }
  }
}

namespace {

// Columns [n0, n0 + cols) of B (K x N) as one MR-tall panel of B^T: dst[p * MR + r] =
// b[p * ldb + n0 + r], zeros from cols on (rows of a few floats: the vector kernels' copy).
void pack_pixels(const SimdKernels& simd, const float* b, std::size_t ldb, int k, int n0, int cols,
                 int mr, float* dst) {
  simd.copy_rows({b + n0, static_cast<long>(ldb), dst, nullptr, mr, k, cols});
  if (cols == mr) return;
  for (int p = 0; p < k; ++p) std::fill(dst + p * mr + cols, dst + (p + 1) * mr, 0.0f);
}

int covered(int x, int tile) { return (x + tile - 1) / tile * tile; }

}  // namespace

void gemm_transposed(const PackedGemm& gemm, const PackedColumns& a, const float* b,
                     std::size_t ldb, int n, float* c, std::size_t ldc, const Epilogue& epilogue,
                     gemm::native::ThreadPool& pool, GemmScratch& scratch) {
  const gemm::native::SgemmUkernel& kern = *gemm.kernel;
  const int mr = kern.mr, nr = kern.nr, m = a.m(), k = a.k();
  if (m == 0 || n == 0) return;
  float lo = 0, hi = 0;
  activation_bounds(epilogue.activation, lo, hi);
  const int pixel_panels = (n + mr - 1) / mr;
  const int tasks = std::min(pixel_panels, gemm_tasks(gemm, m, n, k, pool.threads()));
  // Task t's pixel panels.
  auto panels_of = [&](std::size_t t) {
    return std::pair<int, int>(static_cast<int>(t * pixel_panels / tasks),
                               static_cast<int>((t + 1) * pixel_panels / tasks));
  };
  // Weight panels per block: as many floats as the A block of the BLIS loops (sized for L2).
  const long budget = static_cast<long>(gemm.blocking.mc) * gemm.blocking.kc;
  const int block = static_cast<int>(std::max(1L, budget / (static_cast<long>(k) * nr + 1)));
  // Every pixel panel packed once (weight blocks revisit them all) by the task that multiplies
  // it: one parallel region, no barrier between packing and multiplying.
  const std::size_t panel_floats = static_cast<std::size_t>(mr) * k;
  float* pixels = scratch.task_buffer(0, panel_floats * pixel_panels + 16);
  auto run = [&](std::size_t t) {
    const auto [i0, i1] = panels_of(t);
    for (int i = i0; i < i1; ++i) {
      pack_pixels(*gemm.simd, b, ldb, k, i * mr, std::min(mr, n - i * mr), mr,
                  pixels + i * panel_floats);
    }
    alignas(64) float tile[gemm::native::kMaxUkernelTile];
    for (int q0 = 0; q0 < a.panels(); q0 += block) {
      const int q1 = std::min(a.panels(), q0 + block);
      for (int i = i0; i < i1; ++i) {
        const int cols = std::min(mr, n - i * mr);
        for (int q = q0; q < q1; ++q) {
          // A partial last pixel panel multiplies only its pixels' rows, through the kernel's
          // strided-B variant (the weight panel is its B, NR floats apart).
          if (cols < mr && kern.strided_b != nullptr) {
            kern.strided_b(static_cast<std::size_t>(cols), static_cast<std::size_t>(k),
                           pixels + i * panel_floats, a.panel(q), nr, tile, nr, 0.0f);
          } else {
            kern.fn(static_cast<std::size_t>(k), pixels + i * panel_floats, a.panel(q), tile, nr,
                    0.0f);
          }
          const int rows = std::min(nr, m - q * nr);
          gemm.simd->transposed_epilogue(
              {tile, nr, cols, rows, epilogue.bias ? epilogue.bias + q * nr : nullptr, lo, hi,
               c + static_cast<std::size_t>(q) * nr * ldc + i * mr, static_cast<long>(ldc)});
        }
      }
    }
  };
  pool.parallel_for(static_cast<std::size_t>(tasks), run);
}

bool prefer_transposed(const gemm::native::SgemmUkernel& kernel, int m, int n, int k) {
  if (k < kTransposedMinDepth || m <= 0 || n <= 0) return false;
  // The normal product's last column panel counted at its covering tile's width even where it
  // runs as a narrow tile and the one-column tile: on block13.pw (1024 x 49 x 1024, AVX-512's
  // 32 + 16 + 1 columns) that took 545 us, the transposed product 493.
  const int full = n / kernel.nr * kernel.nr;
  const int columns = full + (n > full ? gemm::native::covering_ukernel(kernel, n - full).nr : 0);
  const double normal = double(covered(m, kernel.mr)) * columns;
  // A partial last pixel panel costs its rows where the kernel can multiply fewer rows.
  const int pixel_rows = kernel.strided_b != nullptr ? n : covered(n, kernel.mr);
  const double transposed = double(pixel_rows) * covered(m, kernel.nr);
  return transposed * 1.02 < normal;
}

}  // namespace libscout::native_nn
