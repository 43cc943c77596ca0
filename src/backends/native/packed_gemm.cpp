#include "backends/native/packed_gemm.h"

#include <algorithm>
#include <cstring>

namespace libscout::native_nn {

using gemm::native::SgemmUkernel;

PackedMatrix::PackedMatrix(const float* a, int m, int k, std::size_t lda, int mr, int kc)
    : m_(m), k_(k), mr_(mr), kc_(balanced_kc(k, kc)), panels_((m + mr - 1) / mr) {
  data_ = allocate_floats(static_cast<std::size_t>(panels_) * mr * k + 16);  // zero-filled
  for (int k0 = 0; k0 < k; k0 += kc_) {
    const int depth = std::min(kc_, k - k0);
    for (int p = 0; p < panels_; ++p) {
      float* dst = const_cast<float*>(slice(p, k0));
      const int rows = std::min(mr, m - p * mr);
      for (int r = 0; r < rows; ++r) {
        const float* src = a + (static_cast<std::size_t>(p) * mr + r) * lda + k0;
        for (int q = 0; q < depth; ++q) dst[static_cast<std::size_t>(q) * mr + r] = src[q];
      }
    }
  }
}

float* GemmScratch::task_buffer(int task, std::size_t floats) {
  if (buffers_.size() <= static_cast<std::size_t>(task)) {
    buffers_.resize(task + 1);
    sizes_.resize(task + 1, 0);
  }
  if (sizes_[task] < floats) {
    buffers_[task] = allocate_floats(floats);
    sizes_[task] = floats;
  }
  return buffers_[task].get();
}

PackedGemm default_packed_gemm() {
  const SgemmUkernel& k = gemm::native::best_sgemm_ukernel();
  return {&k, gemm::native::sgemm_blocking(k), &best_simd_kernels()};
}

namespace {

// The kernel of one column panel: the full tile or one of the kernel's narrower tiles.
using PanelKernel = gemm::native::SgemmNarrowUkernel;

using gemm::native::for_each_column_panel;

// Rows [k0, k0 + kc) and columns [j0, j0 + nc) of B as the panels of for_each_column_panel, each kc
// groups of its kernel's NR floats (padded with zeros).
void pack_b(const SgemmUkernel& kern, const float* b, std::size_t ldb, int k0, int kc, int j0,
            int nc, bool full_in_place, float* buf) {
  for_each_column_panel(kern, nc, [&](int j, int w, const PanelKernel& pk) {
    if (full_in_place && w == kern.nr) return;  // read where it is
    const float* src = b + static_cast<std::size_t>(k0) * ldb + j0 + j;
    float* dst = buf + static_cast<std::size_t>(j) * kc;
    for (int p = 0; p < kc; ++p, dst += pk.nr) {
      std::memcpy(dst, src + p * ldb, sizeof(float) * w);
      if (w < pk.nr) std::fill(dst + w, dst + pk.nr, 0.0f);
    }
  });
}

struct Problem {
  const SgemmUkernel* kernel;
  const SimdKernels* simd;
  const PackedMatrix* a;
  const float* b;
  std::size_t ldb;
  int n;
  float* c;
  std::size_t ldc;
  Epilogue epilogue;
  float lo, hi;  // the activation's clamp
  bool has_epilogue;
  bool b_in_place;  // full column panels read B where it is (see make_problem)

  void finish(int row0, int rows, int cols, float* tile, std::size_t ld) const {
    if (!has_epilogue) return;
    const float* bias = epilogue.bias ? epilogue.bias + row0 : nullptr;
    simd->tile_epilogue({tile, static_cast<long>(ld), rows, cols, bias, lo, hi});
  }
};

// One tile of C at (panel ip, column col) over the depth slice [k0, k0 + kc), MR rows by the
// panel kernel's NR columns (fewer at the edges of C). bp is the packed panel of B, unless the
// problem reads B in place.
void tile(const Problem& pr, const PanelKernel& pk, int ip, int col, int k0, int kc,
          const float* bp, bool first, bool last) {
  const int mr = pr.kernel->mr, nr = pk.nr;
  const int rows = std::min(mr, pr.a->m() - ip * mr), cols = std::min(nr, pr.n - col);
  const float* ap = pr.a->slice(ip, k0);
  float* cp = pr.c + static_cast<std::size_t>(ip) * mr * pr.ldc + col;
  const float beta = first ? 0.0f : 1.0f;
  const bool full_width = cols == nr && nr == pr.kernel->nr;
  std::size_t ldb = nr;
  if (full_width && pr.b_in_place) {
    bp = pr.b + static_cast<std::size_t>(k0) * pr.ldb + col;
    ldb = pr.ldb;
  }
  if (rows == mr && full_width && last && pr.has_epilogue && pr.kernel->with_epilogue) {
    const float* bias = pr.epilogue.bias ? pr.epilogue.bias + ip * mr : nullptr;
    pr.kernel->with_epilogue(kc, ap, bp, ldb, cp, pr.ldc, beta, bias, pr.lo, pr.hi);
    return;
  }
  if (rows == mr && cols == nr && ldb == static_cast<std::size_t>(nr)) {
    pk.fn(kc, ap, bp, cp, pr.ldc, beta);
    if (last) pr.finish(ip * mr, rows, cols, cp, pr.ldc);
    return;
  }
  if (full_width && pr.kernel->strided_b != nullptr) {
    // Only the rows C has (a last panel of fewer), straight into C; B's rows are ldb apart.
    pr.kernel->strided_b(rows, kc, ap, bp, ldb, cp, pr.ldc, beta);
    if (last) pr.finish(ip * mr, rows, cols, cp, pr.ldc);
    return;
  }
  alignas(64) float tmp[gemm::native::kMaxUkernelTile];
  if (!first) {
    std::fill_n(tmp, mr * nr, 0.0f);
    for (int r = 0; r < rows; ++r) std::memcpy(tmp + r * nr, cp + r * pr.ldc, sizeof(float) * cols);
  }
  pk.fn(kc, ap, bp, tmp, nr, first ? 0.0f : 1.0f);
  if (last) pr.finish(ip * mr, rows, cols, tmp, nr);
  for (int r = 0; r < rows; ++r) std::memcpy(cp + r * pr.ldc, tmp + r * nr, sizeof(float) * cols);
}

constexpr int kInPlaceMaxRowPanels = 12;

// Row panels [p0, p1) times columns [c0, c1) of C, the five BLIS loops with A already packed.
void block(const Problem& pr, const gemm::native::SgemmBlocking& blk, int p0, int p1, int c0,
           int c1, float* buf) {
  const int nr = pr.kernel->nr, mr = pr.kernel->mr, k = pr.a->k();
  const int kc = pr.a->kc();
  const int mc_panels = std::max(1, blk.mc / mr);
  const int nc = std::max(nr, blk.nc / nr * nr);
  for (int jc = c0; jc < c1; jc += nc) {
    const int ncb = std::min(nc, c1 - jc);
    for (int k0 = 0; k0 < k; k0 += kc) {
      const int kcb = std::min(kc, k - k0);
      pack_b(*pr.kernel, pr.b, pr.ldb, k0, kcb, jc, ncb, pr.b_in_place, buf);
      for (int ic = p0; ic < p1; ic += mc_panels) {
        const int ie = std::min(p1, ic + mc_panels);
        for_each_column_panel(*pr.kernel, ncb, [&](int jr, int, const PanelKernel& pk) {
          const float* bp = buf + static_cast<std::size_t>(jr) * kcb;
          for (int ip = ic; ip < ie; ++ip) {
            tile(pr, pk, ip, jc + jr, k0, kcb, bp, k0 == 0, k0 + kcb == k);
          }
        });
      }
    }
  }
}

}  // namespace

int gemm_tasks(const PackedGemm& gemm, int m, int n, int k, int threads) {
  const double kmacs = double(m) * n * k / 1000.0;
  const int min_kmacs = std::max(1, gemm.blocking.min_task_kmacs);
  return std::max(1, std::min<int>(threads, std::max(1.0, kmacs / min_kmacs)));
}

namespace {

Problem make_problem(const PackedGemm& gemm, const PackedMatrix& a, const float* b, std::size_t ldb,
                     int n, float* c, std::size_t ldc, const Epilogue& epilogue) {
  const SgemmUkernel& kern = *gemm.kernel;
  Problem pr{&kern, gemm.simd, &a, b, ldb, n, c, ldc, epilogue, 0.0f, 0.0f, false, false};
  // B in place: packing a panel of B costs about what a tile of it does, so with few row panels of
  // A to share it, reading B's rows where they are is cheaper (Zen 5, 1 thread: MobileNet v1's
  // block1.pw, 5 panels, 570 -> 354 us; block3.pw, 10 panels, 534-568 -> 501-524 us; no clear
  // change at 37 or 74 panels).
  pr.b_in_place = kern.strided_b != nullptr && kern.with_epilogue != nullptr &&
                  a.panels() <= kInPlaceMaxRowPanels;
  activation_bounds(epilogue.activation, pr.lo, pr.hi);
  pr.has_epilogue = epilogue.bias != nullptr || epilogue.activation != Activation::kNone;
  return pr;
}

}  // namespace

std::size_t gemm_buffer_floats(const PackedGemm& gemm, const PackedMatrix& a) {
  const int nr = gemm.kernel->nr;
  const int nc = std::max(nr, gemm.blocking.nc / nr * nr);
  return static_cast<std::size_t>(a.kc()) * (nc + nr);
}

void gemm_packed_a_serial(const PackedGemm& gemm, const PackedMatrix& a, const float* b,
                          std::size_t ldb, int n, float* c, std::size_t ldc,
                          const Epilogue& epilogue, float* buf) {
  if (a.m() == 0 || n == 0) return;
  const Problem pr = make_problem(gemm, a, b, ldb, n, c, ldc, epilogue);
  block(pr, gemm.blocking, 0, a.panels(), 0, n, buf);
}

void gemm_packed_a(const PackedGemm& gemm, const PackedMatrix& a, const float* b, std::size_t ldb,
                   int n, float* c, std::size_t ldc, const Epilogue& epilogue,
                   gemm::native::ThreadPool& pool, GemmScratch& scratch) {
  const SgemmUkernel& kern = *gemm.kernel;
  if (a.m() == 0 || n == 0) return;
  const Problem pr = make_problem(gemm, a, b, ldb, n, c, ldc, epilogue);
  const int col_panels = (n + kern.nr - 1) / kern.nr;
  int tasks = gemm_tasks(gemm, a.m(), n, a.k(), pool.threads());
  const bool split_cols = col_panels >= 2 * tasks || a.panels() < tasks;
  tasks = std::max(1, std::min(tasks, split_cols ? col_panels : a.panels()));
  std::vector<float*> bufs(tasks);
  for (int t = 0; t < tasks; ++t) bufs[t] = scratch.task_buffer(t, gemm_buffer_floats(gemm, a));
  auto run = [&](std::size_t t) {
    const int total = split_cols ? col_panels : a.panels();
    const int lo = static_cast<int>(t * total / tasks), hi = static_cast<int>((t + 1) * total / tasks);
    if (split_cols) {
      block(pr, gemm.blocking, 0, a.panels(), lo * kern.nr, std::min(n, hi * kern.nr), bufs[t]);
    } else {
      block(pr, gemm.blocking, lo, hi, 0, n, bufs[t]);
    }
  };
  pool.parallel_for(static_cast<std::size_t>(tasks), run);
}

}  // namespace libscout::native_nn
