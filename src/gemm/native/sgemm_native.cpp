// The portable BLIS-style SGEMM framework: packing, cache blocking, edge tiles, beta, threads.
#include "gemm/native/sgemm_native.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>

#include "core/error.h"

namespace libscout::gemm::native {
namespace {

using std::size_t;

constexpr size_t kAlignment = 64;

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

// One operand's element (row, col) of op(X), for a row-major X with leading dimension ld.
struct Operand {
  const float* data;
  size_t ld;
  bool transposed;
};

// Packs rows [row0, row0 + rows) and columns [col0, col0 + depth) of alpha * op(A) into one
// MR-tall micro-panel: depth groups of MR values, rows past `rows` padded with zeros.
void pack_a_panel(const Operand& a, float alpha, size_t row0, size_t rows, size_t col0,
                  size_t depth, int mr, float* dst) {
  if (!a.transposed) {  // op(A)(i, p) = A[i * ld + p]: each panel row is contiguous in A.
    for (size_t r = 0; r < rows; ++r) {
      const float* src = a.data + (row0 + r) * a.ld + col0;
      for (size_t p = 0; p < depth; ++p) dst[p * mr + r] = alpha * src[p];
    }
    for (size_t r = rows; r < static_cast<size_t>(mr); ++r)
      for (size_t p = 0; p < depth; ++p) dst[p * mr + r] = 0.0f;
  } else {  // op(A)(i, p) = A[p * ld + i]: each panel column is contiguous in A.
    for (size_t p = 0; p < depth; ++p) {
      const float* src = a.data + (col0 + p) * a.ld + row0;
      float* out = dst + p * mr;
      size_t r = 0;
      for (; r < rows; ++r) out[r] = alpha * src[r];
      for (; r < static_cast<size_t>(mr); ++r) out[r] = 0.0f;
    }
  }
}

// Packs rows [row0, row0 + depth) and columns [col0, col0 + cols) of op(B) into one NR-wide
// micro-panel: depth groups of NR values, columns past `cols` padded with zeros.
void pack_b_panel(const Operand& b, size_t row0, size_t depth, size_t col0, size_t cols, int nr,
                  float* dst) {
  if (!b.transposed) {  // op(B)(p, j) = B[p * ld + j]: each panel row is contiguous in B.
    for (size_t p = 0; p < depth; ++p) {
      const float* src = b.data + (row0 + p) * b.ld + col0;
      float* out = dst + p * nr;
      size_t j = 0;
      for (; j < cols; ++j) out[j] = src[j];
      for (; j < static_cast<size_t>(nr); ++j) out[j] = 0.0f;
    }
  } else {  // op(B)(p, j) = B[j * ld + p]: each panel column is contiguous in B.
    for (size_t j = 0; j < cols; ++j) {
      const float* src = b.data + (col0 + j) * b.ld + row0;
      for (size_t p = 0; p < depth; ++p) dst[p * nr + j] = src[p];
    }
    for (size_t j = cols; j < static_cast<size_t>(nr); ++j)
      for (size_t p = 0; p < depth; ++p) dst[p * nr + j] = 0.0f;
  }
}

// C := beta * C without reading C when beta == 0 (the whole product when k == 0 or alpha == 0).
void scale_c(const SgemmArgs& args) {
  for (size_t i = 0; i < static_cast<size_t>(args.m); ++i) {
    float* row = args.c + i * static_cast<size_t>(args.ldc);
    if (args.beta == 0.0f) {
      std::fill(row, row + args.n, 0.0f);
    } else if (args.beta != 1.0f) {
      for (int j = 0; j < args.n; ++j) row[j] *= args.beta;
    }
  }
}

}  // namespace

float* SgemmWorkspace::Buffer::reserve(size_t floats) {
  if (floats > capacity) {
    const size_t bytes = round_up(std::max<size_t>(floats, 1) * sizeof(float), kAlignment);
    auto* p = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
    if (p == nullptr) throw std::bad_alloc();
    data.reset(p);
    capacity = floats;
  }
  return data.get();
}

void SgemmWorkspace::Buffer::Free::operator()(float* p) const { std::free(p); }

void check_sgemm_args(const SgemmArgs& args) {
  auto fail = [](const std::string& what) { throw Error("sgemm: invalid arguments: " + what); };
  if (args.m < 0 || args.n < 0 || args.k < 0)
    fail("negative size m=" + std::to_string(args.m) + " n=" + std::to_string(args.n) +
         " k=" + std::to_string(args.k));
  const bool ta = args.trans_a == Trans::kYes, tb = args.trans_b == Trans::kYes;
  // Row-major: a row of the stored matrix holds K values of A (M when transposed), etc.
  const int a_row = ta ? args.m : args.k, b_row = tb ? args.k : args.n;
  if (args.lda < std::max(1, a_row))
    fail("lda=" + std::to_string(args.lda) + " < " + std::to_string(std::max(1, a_row)));
  if (args.ldb < std::max(1, b_row))
    fail("ldb=" + std::to_string(args.ldb) + " < " + std::to_string(std::max(1, b_row)));
  if (args.ldc < std::max(1, args.n))
    fail("ldc=" + std::to_string(args.ldc) + " < " + std::to_string(std::max(1, args.n)));
  if (args.m > 0 && args.n > 0) {
    if (args.c == nullptr) fail("c is null");
    if (args.k > 0 && args.alpha != 0.0f && (args.a == nullptr || args.b == nullptr))
      fail("a or b is null");
  }
}

void sgemm_native(const SgemmArgs& args, const SgemmUkernel& kernel, const SgemmBlocking& blocking,
                  ThreadPool& pool, SgemmWorkspace& workspace) {
  const size_t m = args.m, n = args.n, k = args.k;
  if (m == 0 || n == 0) return;
  if (k == 0 || args.alpha == 0.0f) {
    scale_c(args);
    return;
  }
  const size_t mr = kernel.mr, nr = kernel.nr;
  const size_t mc = blocking.mc, kc = blocking.kc, nc = blocking.nc;
  const size_t threads = pool.threads();
  const Operand a{args.a, static_cast<size_t>(args.lda), args.trans_a == Trans::kYes};
  const Operand b{args.b, static_cast<size_t>(args.ldb), args.trans_b == Trans::kYes};
  const size_t ldc = args.ldc;

  // Loop ic packs one chunk of A rows at a time: one mc block per thread, split evenly so the
  // last chunk is not a sliver; inside a chunk the threads take (row tile, column tile) tasks.
  const size_t chunks = ceil_div(m, mc * threads);
  const size_t chunk_rows = round_up(ceil_div(m, chunks), mr);
  float* packed_a = workspace.packed_a(std::min(kc, k) * chunk_rows);
  float* packed_b = workspace.packed_b(std::min(kc, k) * round_up(std::min(nc, n), nr));

  for (size_t jc = 0; jc < n; jc += nc) {  // loop 5
    const size_t nb = std::min(nc, n - jc);
    const size_t b_panels = ceil_div(nb, nr);
    for (size_t pc = 0; pc < k; pc += kc) {  // loop 4
      const size_t kb = std::min(kc, k - pc);
      const float beta = pc == 0 ? args.beta : 1.0f;

      auto pack_b = [&](size_t panel) {
        const size_t j0 = panel * nr;
        pack_b_panel(b, pc, kb, jc + j0, std::min(nr, nb - j0), kernel.nr,
                     packed_b + panel * kb * nr);
      };
      pool.parallel_for(b_panels, pack_b);

      for (size_t ic = 0; ic < m; ic += chunk_rows) {  // loop 3, one chunk of mc blocks
        const size_t mb = std::min(chunk_rows, m - ic);
        const size_t a_panels = ceil_div(mb, mr);
        auto pack_a = [&](size_t panel) {
          const size_t i0 = panel * mr;
          pack_a_panel(a, args.alpha, ic + i0, std::min(mr, mb - i0), pc, kb, kernel.mr,
                       packed_a + panel * kb * mr);
        };
        pool.parallel_for(a_panels, pack_a);

        // Tasks: row tiles of at most mc rows, times column tiles when rows alone cannot keep
        // every thread busy twice over.
        const size_t row_tiles = ceil_div(mb, mc);
        const size_t tile_rows = round_up(ceil_div(mb, row_tiles), mr);
        const size_t col_tiles =
            threads == 1 ? 1 : std::min(b_panels, std::max<size_t>(1, ceil_div(2 * threads, row_tiles)));
        const size_t tile_cols = round_up(ceil_div(nb, col_tiles), nr);

        auto compute = [&](size_t ti, size_t tj) {
          const size_t i0 = ti * tile_rows, j0 = tj * tile_cols;
          if (i0 >= mb || j0 >= nb) return;
          const size_t i1 = std::min(mb, i0 + tile_rows), j1 = std::min(nb, j0 + tile_cols);
          alignas(kAlignment) float edge[kMaxUkernelTile];
          for (size_t jr = j0; jr < j1; jr += nr) {  // loop 2
            const size_t cols = std::min(nr, nb - jr);
            const float* b_panel = packed_b + (jr / nr) * kb * nr;
            for (size_t ir = i0; ir < i1; ir += mr) {  // loop 1
              const size_t rows = std::min(mr, mb - ir);
              const float* a_panel = packed_a + (ir / mr) * kb * mr;
              float* c = args.c + (ic + ir) * ldc + jc + jr;
              if (rows == mr && cols == nr) {
                kernel.fn(kb, a_panel, b_panel, c, ldc, beta);
                continue;
              }
              kernel.fn(kb, a_panel, b_panel, edge, nr, 0.0f);
              for (size_t i = 0; i < rows; ++i) {
                float* c_row = c + i * ldc;
                const float* e_row = edge + i * nr;
                if (beta == 0.0f) {
                  for (size_t j = 0; j < cols; ++j) c_row[j] = e_row[j];
                } else {
                  for (size_t j = 0; j < cols; ++j) c_row[j] = e_row[j] + beta * c_row[j];
                }
              }
            }
          }
        };
        pool.parallel_for_2d(row_tiles, col_tiles, compute);
      }
    }
  }
}

}  // namespace libscout::gemm::native
