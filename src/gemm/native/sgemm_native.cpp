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


// Everything one product needs; the operands as op() sees them.
struct Problem {
  Problem(const SgemmArgs& args, const SgemmUkernel& kernel, const SgemmBlocking& blocking,
          ThreadPool& pool, SgemmWorkspace& workspace)
      : args(args), kernel(kernel), blocking(blocking), pool(pool), workspace(workspace),
        a{args.a, static_cast<size_t>(args.lda), args.trans_a == Trans::kYes},
        b{args.b, static_cast<size_t>(args.ldb), args.trans_b == Trans::kYes},
        m(args.m), n(args.n), k(args.k), mr(kernel.mr), nr(kernel.nr), ldc(args.ldc) {}

  const SgemmArgs& args;
  const SgemmUkernel& kernel;
  const SgemmBlocking& blocking;
  ThreadPool& pool;
  SgemmWorkspace& workspace;
  Operand a, b;
  size_t m, n, k, mr, nr, ldc;
};

// Merges rows x cols of a temporary tile (row stride ld) into C: C := edge + beta * C, C read
// only when beta != 0.
void merge_edge(const float* edge, size_t ld, size_t rows, size_t cols, float* c, size_t ldc,
                float beta) {
  for (size_t i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    const float* e_row = edge + i * ld;
    if (beta == 0.0f) {
      for (size_t j = 0; j < cols; ++j) c_row[j] = e_row[j];
    } else {
      for (size_t j = 0; j < cols; ++j) c_row[j] = e_row[j] + beta * c_row[j];
    }
  }
}

// One MR x NR tile of C at `c`, of which rows x cols are inside C: `ukernel(c, ldc, beta)` runs
// the micro-kernel on a full tile directly and on a partial one into a temporary tile, which is
// then merged into C.
template <typename Ukernel>
void run_tile(const Problem& p, size_t rows, size_t cols, float* c, float beta,
              const Ukernel& ukernel) {
  if (rows == p.mr && cols == p.nr) {
    ukernel(c, p.ldc, beta);
    return;
  }
  alignas(kAlignment) float edge[kMaxUkernelTile];
  ukernel(edge, p.nr, 0.0f);
  merge_edge(edge, p.nr, rows, cols, c, p.ldc, beta);
}

// Packs rows [row0, row0 + rows) x columns [pc, pc + kb) of alpha * op(A) into MR-tall panels.
void pack_a_block(const Problem& p, size_t row0, size_t rows, size_t pc, size_t kb, float* dst) {
  auto pack = [&](size_t panel) {
    const size_t i0 = panel * p.mr;
    pack_a_panel(p.a, p.args.alpha, row0 + i0, std::min(p.mr, rows - i0), pc, kb, p.kernel.mr,
                 dst + panel * kb * p.mr);
  };
  p.pool.parallel_for(ceil_div(rows, p.mr), pack);
}

// The BLIS loops over packed A and packed B (sgemm_native.h).
void sgemm_packed(const Problem& p) {
  const size_t m = p.m, n = p.n, k = p.k, mr = p.mr, nr = p.nr;
  const size_t mc = p.blocking.mc, kc = p.blocking.kc, nc = p.blocking.nc;
  const size_t threads = p.pool.threads();

  // Loop ic packs one chunk of A rows at a time: one mc block per thread, split evenly so the
  // last chunk is not a sliver; inside a chunk the threads take (row tile, column tile) tasks.
  const size_t chunks = ceil_div(m, mc * threads);
  const size_t chunk_rows = round_up(ceil_div(m, chunks), mr);
  float* packed_a = p.workspace.packed_a(std::min(kc, k) * chunk_rows);
  float* packed_b = p.workspace.packed_b(std::min(kc, k) * round_up(std::min(nc, n), nr));

  for (size_t jc = 0; jc < n; jc += nc) {  // loop 5
    const size_t nb = std::min(nc, n - jc);
    const size_t b_panels = ceil_div(nb, nr);
    for (size_t pc = 0; pc < k; pc += kc) {  // loop 4
      const size_t kb = std::min(kc, k - pc);
      const float beta = pc == 0 ? p.args.beta : 1.0f;

      auto pack_b = [&](size_t panel) {
        const size_t j0 = panel * nr;
        pack_b_panel(p.b, pc, kb, jc + j0, std::min(nr, nb - j0), p.kernel.nr,
                     packed_b + panel * kb * nr);
      };
      p.pool.parallel_for(b_panels, pack_b);

      for (size_t ic = 0; ic < m; ic += chunk_rows) {  // loop 3, one chunk of mc blocks
        const size_t mb = std::min(chunk_rows, m - ic);
        pack_a_block(p, ic, mb, pc, kb, packed_a);

        // Tasks: row tiles of at most mc rows, times column tiles when rows alone cannot keep
        // every thread busy twice over.
        const size_t row_tiles = ceil_div(mb, mc);
        const size_t tile_rows = round_up(ceil_div(mb, row_tiles), mr);
        const size_t col_tiles =
            threads == 1 ? 1
                         : std::min(b_panels, std::max<size_t>(1, ceil_div(2 * threads, row_tiles)));
        const size_t tile_cols = round_up(ceil_div(nb, col_tiles), nr);

        auto compute = [&](size_t ti, size_t tj) {
          const size_t i0 = ti * tile_rows, j0 = tj * tile_cols;
          if (i0 >= mb || j0 >= nb) return;
          const size_t i1 = std::min(mb, i0 + tile_rows), j1 = std::min(nb, j0 + tile_cols);
          for (size_t jr = j0; jr < j1; jr += nr) {  // loop 2
            const float* b_panel = packed_b + (jr / nr) * kb * nr;
            for (size_t ir = i0; ir < i1; ir += mr) {  // loop 1
              const float* a_panel = packed_a + (ir / mr) * kb * mr;
              run_tile(p, std::min(mr, mb - ir), std::min(nr, nb - jr),
                       p.args.c + (ic + ir) * p.ldc + jc + jr, beta,
                       [&](float* c, size_t ldc, float b) {
                         p.kernel.fn(kb, a_panel, b_panel, c, ldc, b);
                       });
            }
          }
        };
        p.pool.parallel_for_2d(row_tiles, col_tiles, compute);
      }
    }
  }
}

// Skinny products (few rows, op(B) not transposed): packing B would cost about as much as the
// product, so the kernel reads B's rows in place (the strided-B contract, which also computes
// partial row tiles directly) and only A (small) is packed, whole, per kc slice. The last,
// partial NR-wide block of B is packed, so that no kernel reads past a row of B, and its tiles go
// through a temporary tile. Threads split the columns.
void sgemm_strided_b(const Problem& p) {
  const size_t m = p.m, n = p.n, k = p.k, mr = p.mr, nr = p.nr, kc = p.blocking.kc;
  const size_t full_cols = n / nr * nr;
  float* packed_a = p.workspace.packed_a(std::min(kc, k) * round_up(m, mr));
  float* packed_b = p.workspace.packed_b(std::min(kc, k) * nr);
  const size_t b_panels = ceil_div(n, nr);
  const size_t tasks = std::min(b_panels, 4 * static_cast<size_t>(p.pool.threads()));
  const size_t task_panels = ceil_div(b_panels, tasks);

  for (size_t pc = 0; pc < k; pc += kc) {
    const size_t kb = std::min(kc, k - pc);
    const float beta = pc == 0 ? p.args.beta : 1.0f;
    pack_a_block(p, 0, m, pc, kb, packed_a);
    if (full_cols < n) pack_b_panel(p.b, pc, kb, full_cols, n - full_cols, p.kernel.nr, packed_b);

    auto compute = [&](size_t task) {
      const size_t j1 = std::min(n, (task + 1) * task_panels * nr);
      for (size_t jr = task * task_panels * nr; jr < j1; jr += nr) {
        for (size_t ir = 0; ir < m; ir += mr) {
          const size_t rows = std::min(mr, m - ir);
          const float* a_panel = packed_a + (ir / mr) * kb * mr;
          float* c = p.args.c + ir * p.ldc + jr;
          if (jr < full_cols) {
            p.kernel.strided_b(rows, kb, a_panel, p.b.data + pc * p.b.ld + jr, p.b.ld, c, p.ldc,
                               beta);
            continue;
          }
          alignas(kAlignment) float edge[kMaxUkernelTile];
          p.kernel.strided_b(rows, kb, a_panel, packed_b, nr, edge, nr, 0.0f);
          merge_edge(edge, nr, rows, n - jr, c, p.ldc, beta);
        }
      }
    };
    p.pool.parallel_for(tasks, compute);
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
  if (args.m == 0 || args.n == 0) return;
  if (args.k == 0 || args.alpha == 0.0f) {
    scale_c(args);
    return;
  }
  const Problem problem{args, kernel, blocking, pool, workspace};
  const bool strided_b = kernel.strided_b != nullptr && args.trans_b == Trans::kNo &&
                         args.m <= blocking.strided_b_max_m;
  if (strided_b) {
    sgemm_strided_b(problem);
  } else {
    sgemm_packed(problem);
  }
}

}  // namespace libscout::gemm::native
