// The portable BLIS-style SGEMM framework: packing, cache blocking, edge tiles, beta, threads.
#include "gemm/native/sgemm_native.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

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
// MR-tall micro-panel: depth groups of MR values, rows past `rows` padded with zeros. A kernel's
// own packing routine (pack_a, may be null) does it where A is not transposed.
void pack_a_panel(const Operand& a, float alpha, size_t row0, size_t rows, size_t col0,
                  size_t depth, int mr, float* dst, SgemmPackAFn pack_a) {
  if (!a.transposed && pack_a != nullptr) {
    pack_a(rows, depth, a.data + row0 * a.ld + col0, a.ld, alpha, dst);
  } else if (!a.transposed) {  // op(A)(i, p) = A[i * ld + p]: each panel row is contiguous in A.
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

// Packs columns [col0, col0 + cols) of rows [row0, row0 + depth) of op(B) into the kernel's
// column panels (for_each_column_panel: full NR-wide ones, then the remainder's tiles, each
// depth x its tile's NR). Not transposed, the full panels are read row by row across all of
// them, long contiguous runs that a cold B streams from memory well; the rest panel by panel.
void pack_b_panels(const Operand& b, const SgemmUkernel& kernel, size_t row0, size_t depth,
                   size_t col0, size_t cols, float* dst) {
  const size_t nr = kernel.nr, full = b.transposed ? 0 : cols / nr * nr;
  if (full > 0) {
    for (size_t p = 0; p < depth; ++p) {
      const float* src = b.data + (row0 + p) * b.ld + col0;
      for (size_t j = 0; j < full; j += nr)
        std::copy(src + j, src + j + nr, dst + j * depth + p * nr);
    }
  }
  for_each_column_panel(
      kernel, static_cast<int>(cols - full), [&](int j, int width, const SgemmNarrowUkernel& tile) {
        pack_b_panel(b, row0, depth, col0 + full + j, width, tile.nr, dst + (full + j) * depth);
      });
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
        m(args.m), n(args.n), k(args.k), mr(kernel.mr), nr(kernel.nr), ldc(args.ldc),
        kc(slice_depth(k, blocking.kc)) {}

  // K is cut into the fewest slices of at most kc_max, of near-equal depth (a multiple of 8
  // where kc_max is one), so that no slice is a sliver (k = 576 on kc 512: 2 x 288, not 512 + 64).
  static size_t slice_depth(size_t k, size_t kc_max) {
    const size_t slices = ceil_div(k, kc_max), depth = ceil_div(k, slices);
    return std::min(kc_max, round_up(depth, 8));
  }

  const SgemmArgs& args;
  const SgemmUkernel& kernel;
  const SgemmBlocking& blocking;
  ThreadPool& pool;
  SgemmWorkspace& workspace;
  Operand a, b;
  size_t m, n, k, mr, nr, ldc;
  size_t kc;  // depth of the K slices (loop 4)
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

// One MR x nr tile of C at `c`, of which rows x cols are inside C: `ukernel(c, ldc, beta)` runs
// the micro-kernel on a full tile directly and on a partial one into a temporary tile, which is
// then merged into C.
template <typename Ukernel>
void run_tile(const Problem& p, size_t rows, size_t cols, size_t nr, float* c, float beta,
              const Ukernel& ukernel) {
  if (rows == p.mr && cols == nr) {
    ukernel(c, p.ldc, beta);
    return;
  }
  alignas(kAlignment) float edge[kMaxUkernelTile];
  ukernel(edge, nr, 0.0f);
  merge_edge(edge, nr, rows, cols, c, p.ldc, beta);
}

// A rectangle of C that one task computes from start to end with its own packing buffers:
// rows [i0, i0 + rows) x columns [j0, j0 + cols).
struct Slab {
  size_t i0, rows, j0, cols;
};

// Splits `count` units into `parts` near-equal ranges; part `index`'s [begin, end) in units.
std::pair<size_t, size_t> split(size_t count, size_t parts, size_t index) {
  const size_t base = count / parts, extra = count % parts;
  const size_t begin = index * base + std::min(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

// How many tasks a product gets: one per thread, but none with less than min_task_kmacs of work.
size_t task_count(const Problem& p) {
  const double macs = static_cast<double>(p.m) * p.n * p.k;
  const double per_task = 1000.0 * p.blocking.min_task_kmacs;
  const size_t threads = p.pool.threads();
  if (per_task <= 0) return threads;
  return std::min(threads, static_cast<size_t>(std::max(1.0, macs / per_task)));
}

// Runs task(index, buffers) for index in [0, tasks): on the calling thread when there is one
// task, else as one parallel loop (one fork and one join per product: no barrier inside). Each
// task's buffers are grown to a_floats and b_floats first, on the calling thread, so that no
// allocation (nor its exception) happens inside the parallel loop.
template <typename Task>
void run_tasks(const Problem& p, size_t tasks, size_t a_floats, size_t b_floats,
               const Task& task) {
  for (size_t t = 0; t < tasks; ++t) {
    SgemmWorkspace::TaskBuffers& buffers = p.workspace.task(t);
    buffers.a.reserve(a_floats);
    buffers.b.reserve(b_floats);
  }
  if (tasks == 1) {
    task(0, p.workspace.task(0));
    return;
  }
  auto body = [&](size_t t) { task(t, p.workspace.task(t)); };
  p.pool.parallel_for(tasks, body);
}

// The height of the blocks of A's rows (loop 3) for a slice of depth kb: the fewest blocks that
// keep an A block within the bytes of an mc x kc one (so a shallow slice gets taller blocks), of
// near-equal height (no sliver of a block at the end), a multiple of MR.
size_t a_block_rows(const Problem& p, size_t rows, size_t kb) {
  const size_t budget = std::max(p.mr, static_cast<size_t>(p.blocking.mc) * p.blocking.kc / kb /
                                           p.mr * p.mr);
  return round_up(ceil_div(rows, ceil_div(rows, budget)), p.mr);
}

// One kb x nb slice of op(B) (loop 4's), packed into NR-wide panels at `packed` as they are
// first used.
struct SliceB {
  size_t pc, kb, col0, nb;
  float* packed;
};

// B panels are packed in groups of this many, row by row (pack_b_panels).
constexpr size_t kPackGroup = 8;

// Loops 3 to 1 for one slice of B: pack blocks of A's rows [row0, row0 + rows), then the
// micro-kernel over every tile. The B panels are packed in small groups just before their first
// use (the first row block), so that their first pass reads them from L1 or L2 instead of from a
// buffer written earlier.
void packed_row_blocks(const Problem& p, size_t row0, size_t rows, const SliceB& b, float beta,
                       float* packed_a) {
  const size_t mr = p.mr, nr = p.nr, kb = b.kb, mc = a_block_rows(p, rows, kb);
  for (size_t ic = 0; ic < rows; ic += mc) {  // loop 3
    const size_t mb = std::min(mc, rows - ic);
    for (size_t i = 0; i < mb; i += mr)
      pack_a_panel(p.a, p.args.alpha, row0 + ic + i, std::min(mr, mb - i), b.pc, kb, p.kernel.mr,
                   packed_a + i * kb, p.kernel.pack_a);
    auto panel = [&](int col, int cols, const SgemmNarrowUkernel& tile) {  // loop 2
      const size_t jr = col;
      float* b_panel = b.packed + jr * kb;
      if (ic == 0 && jr % (kPackGroup * nr) == 0)  // the group of panels starting here
        pack_b_panels(p.b, p.kernel, b.pc, kb, b.col0 + jr, std::min(kPackGroup * nr, b.nb - jr),
                      b_panel);
      for (size_t ir = 0; ir < mb; ir += mr) {  // loop 1
        const float* a_panel = packed_a + ir * kb;
        run_tile(p, std::min(mr, mb - ir), cols, tile.nr,
                 p.args.c + (row0 + ic + ir) * p.ldc + b.col0 + jr, beta,
                 [&](float* c, size_t ldc, float beta_c) {
                   tile.fn(kb, a_panel, b_panel, c, ldc, beta_c);
                 });
      }
    };
    for_each_column_panel(p.kernel, static_cast<int>(b.nb), panel);
  }
}

// The BLIS loops (sgemm_native.h) over one slab of C, packing its own A and B. Its buffers hold
// packed_a_floats(rows) and min(kc, k) x round_up(min(nc, cols), NR) floats.
void packed_slab(const Problem& p, const Slab& s, SgemmWorkspace::TaskBuffers& buffers) {
  const size_t nc = p.blocking.nc;
  for (size_t jc = 0; jc < s.cols; jc += nc) {  // loop 5
    const size_t nb = std::min(nc, s.cols - jc);
    for (size_t pc = 0; pc < p.k; pc += p.kc) {  // loop 4
      const SliceB b{pc, std::min(p.kc, p.k - pc), s.j0 + jc, nb, buffers.b.data.get()};
      packed_row_blocks(p, s.i0, s.rows, b, pc == 0 ? p.args.beta : 1.0f, buffers.a.data.get());
    }
  }
}

// The floats of one packed block of A for `rows` rows, for the deepest and the last slice.
size_t packed_a_floats(const Problem& p, size_t rows) {
  const size_t deepest = std::min(p.kc, p.k), last = p.k - (ceil_div(p.k, p.kc) - 1) * p.kc;
  return std::max(a_block_rows(p, rows, deepest) * deepest, a_block_rows(p, rows, last) * last);
}

// Packed products: one slab per task, cut so that what every task packs again (all of A when N
// is cut, all of B when M is) is the smaller operand: N when n >= m (A is m x k, B k x n).
void sgemm_packed(const Problem& p) {
  const size_t m_panels = ceil_div(p.m, p.mr), n_panels = ceil_div(p.n, p.nr);
  const size_t tasks = std::min(task_count(p), std::max(m_panels, n_panels));
  const bool cut_n = n_panels >= tasks && (p.n >= p.m || m_panels < tasks);
  auto slab = [&](size_t t) {
    Slab s{0, p.m, 0, p.n};
    if (tasks == 1) return s;
    const auto [first, last] = split(cut_n ? n_panels : m_panels, tasks, t);
    if (cut_n) {
      s.j0 = first * p.nr;
      s.cols = std::min(p.n, last * p.nr) - s.j0;
    } else {
      s.i0 = first * p.mr;
      s.rows = std::min(p.m, last * p.mr) - s.i0;
    }
    return s;
  };
  const Slab largest = slab(0);  // split() gives the first parts the extra unit
  const size_t a_floats = packed_a_floats(p, largest.rows);
  const size_t b_floats =
      std::min(p.kc, p.k) * round_up(std::min<size_t>(p.blocking.nc, largest.cols), p.nr);
  run_tasks(p, tasks, a_floats, b_floats, [&](size_t t, SgemmWorkspace::TaskBuffers& buffers) {
    packed_slab(p, slab(t), buffers);
  });
}

// Skinny products (few rows, op(B) not transposed): packing B would cost about as much as the
// product, so the kernel reads B's rows in place (the strided-B contract, which also computes
// partial row tiles directly). A (small) is packed whole on the calling thread; tasks split the
// columns. The last, partial NR-wide block of B is packed, so that no kernel reads past a row of
// B, and its tiles go through a temporary tile.
void sgemm_strided_b(const Problem& p) {
  // A kc x NR block of B read in place spans up to two cache lines per row and shares L1 with the
  // A panels and C: slices a quarter as deep as the packed path's (measured best on Zen 3).
  const size_t kc = Problem::slice_depth(p.k, std::max<size_t>(8, p.blocking.kc / 4 / 8 * 8));
  const size_t m = p.m, n = p.n, k = p.k, mr = p.mr, nr = p.nr;
  const size_t full_cols = n / nr * nr, a_rows = round_up(m, mr);
  float* packed_a = p.workspace.packed_a(a_rows * k);
  for (size_t pc = 0; pc < k; pc += kc)  // slice pc's panels at packed_a + a_rows * pc
    for (size_t i = 0; i < m; i += mr)
      pack_a_panel(p.a, p.args.alpha, i, std::min(mr, m - i), pc, std::min(kc, k - pc),
                   p.kernel.mr, packed_a + a_rows * pc + i * std::min(kc, k - pc), p.kernel.pack_a);

  const size_t n_panels = ceil_div(n, nr), tasks = std::min(task_count(p), n_panels);
  auto task = [&](size_t t, SgemmWorkspace::TaskBuffers& buffers) {
    const auto [first, last] = split(n_panels, tasks, t);
    float* packed_b = buffers.b.data.get();  // the last, partial block of B
    for (size_t pc = 0; pc < k; pc += kc) {
      const size_t kb = std::min(kc, k - pc);
      const float beta = pc == 0 ? p.args.beta : 1.0f;
      const float* a_slice = packed_a + a_rows * pc;
      for (size_t jr = first * nr; jr < std::min(n, last * nr); jr += nr) {
        const bool in_place = jr < full_cols;
        const float* b = p.b.data + pc * p.b.ld + jr;
        if (!in_place) {
          pack_b_panel(p.b, pc, kb, jr, n - jr, p.kernel.nr, packed_b);
          b = packed_b;
        }
        for (size_t ir = 0; ir < m; ir += mr) {
          const size_t rows = std::min(mr, m - ir);
          float* c = p.args.c + ir * p.ldc + jr;
          if (in_place) {
            p.kernel.strided_b(rows, kb, a_slice + ir * kb, b, p.b.ld, c, p.ldc, beta);
            continue;
          }
          alignas(kAlignment) float edge[kMaxUkernelTile];
          p.kernel.strided_b(rows, kb, a_slice + ir * kb, b, nr, edge, nr, 0.0f);
          merge_edge(edge, nr, rows, n - jr, c, p.ldc, beta);
        }
      }
    }
  };
  run_tasks(p, tasks, 0, std::min(kc, k) * nr, task);
}

// op(A)'s only row, contiguous: A itself, or gathered into the workspace when A is transposed
// (op(A)(0, q) = A[q * lda]).
const float* a_row(const Problem& p) {
  if (!p.a.transposed) return p.a.data;
  float* row = p.workspace.packed_a(p.k);
  for (size_t q = 0; q < p.k; ++q) row[q] = p.a.data[q * p.a.ld];
  return row;
}

// One row of C with op(B) transposed (a fully connected layer at batch 1): every element of C is
// the dot product of op(A)'s row with a contiguous row of B, so nothing is packed but op(A)'s row
// when it is strided. Memory-bound on B; eight partial sums keep the adds independent.
void sgemm_row_dot(const Problem& p) {
  const size_t n = p.n, k = p.k;
  const float* x = a_row(p);
  const float alpha = p.args.alpha, beta = p.args.beta;
  auto dot = [&](const float* b) {
    float part[8] = {};
    size_t q = 0;
    for (; q + 8 <= k; q += 8)
      for (size_t l = 0; l < 8; ++l) part[l] += x[q + l] * b[q + l];
    float sum = (part[0] + part[4]) + (part[1] + part[5]) + (part[2] + part[6]) +
                (part[3] + part[7]);
    for (; q < k; ++q) sum += x[q] * b[q];
    return sum;
  };
  const size_t tasks = std::min(task_count(p), n);
  run_tasks(p, tasks, 0, 0, [&](size_t t, SgemmWorkspace::TaskBuffers&) {
    const auto [first, last] = split(n, tasks, t);
    for (size_t j = first; j < last; ++j) {
      const float v = alpha * dot(p.b.data + j * p.b.ld);
      p.args.c[j] = beta == 0.0f ? v : v + beta * p.args.c[j];
    }
  });
}

// One row of C with op(B) not transposed (a depthwise layer lowered per channel by the gemm:
// backends: 1 x pixels x 9): C's row is the sum of B's rows weighted by op(A)'s row, accumulated
// in blocks of kRowBlock columns held in registers; nothing is packed (a micro-kernel tile would
// compute MR - 1 rows of padding: 8 GFLOPS on the AVX-512 kernel for 1 x 196 x 9, against 23 for
// OpenBLAS).
// The micro-kernel's strided-B path is faster for one row where its tile is short (1 x 12544 x 9,
// Zen 5: the AVX2 6x16 kernel 18.6 GFLOPS, the row path 12.8 when it was baseline code; the
// AVX-512 14x32 kernel 8.0).
constexpr int kRowPathMinMr = 8;

constexpr size_t kRowBlock = 64;

// out[0:width] = sum over q < k of x[q] * b[q * ldb + 0:width]: the whole product of the row path,
// which runs with the AVX-512 kernel (MR 14), so it is compiled for AVX-512 as well as for the
// baseline and chosen when the library loads (GCC's function multiversioning; the rest of this
// file is baseline code). Zen 5, 1 thread, GFLOPS baseline -> AVX-512 with 64-wide blocks (32:
// 16-18): 1x12544x9 12.8 -> 19.4, 1x196x9 10.7 -> 15.3, 1x49x9 7.3 -> 9.8.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "default")))
#endif
void sum_rows(const float* x, const float* b, size_t ldb, size_t k, size_t width, float* out) {
  float acc[kRowBlock] = {};
  if (width == kRowBlock) {  // a constant width: the block stays in registers
    for (size_t q = 0; q < k; ++q, b += ldb)
      for (size_t j = 0; j < kRowBlock; ++j) acc[j] += x[q] * b[j];
  } else {
    for (size_t q = 0; q < k; ++q, b += ldb)
      for (size_t j = 0; j < width; ++j) acc[j] += x[q] * b[j];
  }
  for (size_t j = 0; j < width; ++j) out[j] = acc[j];
}

void sgemm_row_axpy(const Problem& p) {
  const size_t n = p.n, k = p.k;
  const float* x = a_row(p);
  const float alpha = p.args.alpha, beta = p.args.beta;
  auto store = [&](const float* acc, size_t j0, size_t width) {
    float* c = p.args.c + j0;
    for (size_t j = 0; j < width; ++j)
      c[j] = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * c[j];
  };
  const size_t blocks = ceil_div(n, kRowBlock), tasks = std::min(task_count(p), blocks);
  run_tasks(p, tasks, 0, 0, [&](size_t t, SgemmWorkspace::TaskBuffers&) {
    const auto [first, last] = split(blocks, tasks, t);
    for (size_t j0 = first * kRowBlock; j0 < std::min(n, last * kRowBlock); j0 += kRowBlock) {
      float acc[kRowBlock];
      const size_t width = std::min(kRowBlock, n - j0);
      sum_rows(x, p.b.data + j0, p.b.ld, k, width, acc);
      store(acc, j0, width);
    }
  });
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

SgemmWorkspace::TaskBuffers& SgemmWorkspace::task(size_t index) {
  while (tasks_.size() <= index) tasks_.push_back(std::make_unique<TaskBuffers>());
  return *tasks_[index];
}

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
  if (args.m == 1 && args.trans_b == Trans::kYes) {
    sgemm_row_dot(problem);
  } else if (args.m == 1 && kernel.mr > kRowPathMinMr) {
    sgemm_row_axpy(problem);
  } else if (strided_b) {
    sgemm_strided_b(problem);
  } else {
    sgemm_packed(problem);
  }
}

}  // namespace libscout::gemm::native
