// The one table of libscout's native SGEMM micro-kernels, with their tile sizes, block sizes and
// CPU-feature checks: it drives kernel selection, the tests and the benchmark (adding a kernel is
// one line in sgemm_ukernels.cpp).
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "gemm/native/sgemm_ukernel.h"

namespace libscout::gemm::native {

// Cache block sizes for the five loops: mc rows of A stay in L2 as packed panels, kc is the depth
// of one packed slice (an NR-wide B micro-panel of depth kc stays in L1), nc columns of B stay in
// L3. mc is a multiple of MR and nc a multiple of NR. Products with at most strided_b_max_m rows
// and op(B) not transposed skip packing B when the kernel has a strided-B variant (0: never).
// A product gets one task (thread) per min_task_kmacs thousand multiply-adds at most (waking a
// thread costs microseconds, and far more on a busy machine); 0 gives every thread a task.
struct SgemmBlocking {
  int mc = 0;
  int kc = 0;
  int nc = 0;
  int strided_b_max_m = 0;
  int min_task_kmacs = 1024;
};

// The largest MR * NR of any kernel: the framework's temporary tile for partial tiles holds this.
inline constexpr int kMaxUkernelTile = 16 * 32;

// A narrower tile of the same kernel (same MR, NR = nr, the packed contract with that NR): the
// convolution GEMM runs a last, partial column panel with the narrowest one that covers it rather
// than computing mostly padding at full width.
struct SgemmNarrowUkernel {
  int nr = 0;  // 0: none
  SgemmUkernelFn fn = nullptr;
};

struct SgemmUkernel {
  std::string_view name;  // "avx512_14x32": instruction set, then MR x NR
  int mr = 0;
  int nr = 0;
  SgemmUkernelFn fn = nullptr;
  bool (*is_supported)() = nullptr;  // whether this CPU (and OS) can run it
  SgemmBlocking blocking;            // block sizes tuned for this kernel
  // The same tile reading B in place (sgemm_ukernel.h's strided-B contract), or nullptr.
  SgemmUkernelStridedBFn strided_b = nullptr;
  // Packs A (not transposed) into MR-tall panels (the packing contract), or nullptr: the
  // framework's portable packing.
  SgemmPackAFn pack_a = nullptr;
  // Narrower tiles, widest first (entries with nr == 0 are unused).
  std::array<SgemmNarrowUkernel, 2> narrow{};
  // The full tile with the epilogue contract (bias per row and clamp as it is stored), or nullptr.
  SgemmUkernelEpilogueFn with_epilogue = nullptr;
};

// The narrowest of the kernel's tiles, the full one included, at least `width` columns wide.
SgemmNarrowUkernel covering_ukernel(const SgemmUkernel& kernel, int width);

// The tiles of a last, partial column panel of 0 < width < NR columns, left to right: the
// narrowest tile that covers it, or, where the width is one column more than a narrow tile and
// the kernel has a one-column tile, that tile and the one-column tile (49 columns on AVX-512's
// 32-wide tiles: 32, then 16 + 1 instead of a 32-wide tile with 15 columns of padding).
struct RemainderTiles {
  std::array<SgemmNarrowUkernel, 2> tiles{};
  int count = 0;
};
RemainderTiles remainder_tiles(const SgemmUkernel& kernel, int width);

// Calls fn(column, columns, tile) for the column panels of `width` columns: full NR-wide panels,
// then remainder_tiles(). A panel is packed at its tile's NR (padded with zeros); in a packed block
// of depth kc the panel at `column` starts at column * kc.
template <typename Fn>
void for_each_column_panel(const SgemmUkernel& kernel, int width, Fn&& fn) {
  int col = 0;
  for (; col + kernel.nr <= width; col += kernel.nr)
    fn(col, kernel.nr, SgemmNarrowUkernel{kernel.nr, kernel.fn});
  if (col == width) return;
  const RemainderTiles rest = remainder_tiles(kernel, width - col);
  for (int t = 0; t < rest.count; ++t) {
    const SgemmNarrowUkernel& tile = rest.tiles[t];
    const int cols = t + 1 < rest.count ? tile.nr : width - col;
    fn(col, cols, tile);
    col += cols;
  }
}

// Every micro-kernel compiled into this build for this architecture, fastest first; the portable
// reference kernel is always last. Entries whose is_supported() is false must not be called.
std::span<const SgemmUkernel> sgemm_ukernels();

// The first supported entry of sgemm_ukernels() (the reference kernel if nothing else runs here),
// or the supported kernel named by the environment variable LIBSCOUT_NATIVE_KERNEL (to run the
// native SGEMM and backend as on a CPU without the wider instructions, e.g. avx2_fma_6x16 on an
// AVX-512 core; an unknown or unsupported name is reported on stderr and ignored).
const SgemmUkernel& best_sgemm_ukernel();
// The supported kernel named `requested`, else (null, empty, unknown or unsupported: the last two
// reported on stderr) the first supported one.
const SgemmUkernel& choose_sgemm_ukernel(const char* requested);

// Finds a kernel by name; nullptr when this build has none of that name.
const SgemmUkernel* find_sgemm_ukernel(std::string_view name);

// Data cache sizes in bytes as seen by one core (0: unknown); l3 is the share of one core of a
// shared last-level cache.
struct CacheSizes {
  long l1d = 0, l2 = 0, l3 = 0;
};

// The cache sizes cpuinfo reports for the first core; all 0 in builds without cpuinfo.
CacheSizes cpu_cache_sizes();

// Block sizes for `kernel` from cache sizes: a kc x NR micro-panel of B fills L1d (it is reused
// while the A micro-panels stream past; a deeper kc means fewer passes over C, which measured
// better on Zen 3 than half of L1d), an mc x kc block of A half of L2, a kc x nc block of B half of
// the L3 share. kc is a multiple of 8 in [64, 1024], mc a multiple of MR,
// nc of NR; a size whose cache is unknown keeps the table's value, and the other fields too.
SgemmBlocking blocking_for_caches(const SgemmUkernel& kernel, const CacheSizes& caches);

// blocking_for_caches(kernel, cpu_cache_sizes()): the block sizes the provider uses.
SgemmBlocking sgemm_blocking(const SgemmUkernel& kernel);

}  // namespace libscout::gemm::native
