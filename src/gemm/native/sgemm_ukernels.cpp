// The table of native SGEMM micro-kernels for the architecture being built, and run-time
// selection by CPU features. Adding a kernel: its file, its declaration in sgemm_ukernel.h, one
// line here (the tests and the benchmark then cover it).
#include "gemm/native/sgemm_ukernels.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#if defined(LIBSCOUT_NATIVE_HAVE_CPUINFO)
#include <cpuinfo.h>
#elif defined(__arm__)
#include <sys/auxv.h>
#endif

namespace libscout::gemm::native {
namespace {

bool always() { return true; }

// CPU features come from the cpuinfo library (the one XNNPACK and PyTorch use; it checks the
// OS's register-state support as well as CPUID / HWCAP). Builds without it (a cross build whose
// sysroot lacks libcpuinfo) fall back to the compiler's and the kernel's own reports.
#if defined(LIBSCOUT_NATIVE_HAVE_CPUINFO)
bool cpuinfo_ready() {
  static const bool ready = cpuinfo_initialize();
  return ready;
}
#endif

#if defined(__x86_64__) || defined(_M_X64)
#if defined(LIBSCOUT_NATIVE_HAVE_CPUINFO)
bool has_avx2_fma() {
  return cpuinfo_ready() && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3();
}
// The AVX-512 file is compiled with -mfma as well (every AVX-512F CPU has FMA; checked anyway).
bool has_avx512f() {
  return cpuinfo_ready() && cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_fma3();
}
#else
// __builtin_cpu_supports checks the OS's register-state support (XCR0) as well as CPUID.
bool has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool has_avx512f() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"); }
#endif
#endif

#if defined(__arm__)
#if defined(LIBSCOUT_NATIVE_HAVE_CPUINFO)
bool has_neon() { return cpuinfo_ready() && cpuinfo_has_arm_neon(); }
#else
bool has_neon() {
  constexpr unsigned long kHwcapNeon = 1UL << 12;  // HWCAP_NEON of the Linux ARM ABI
  return (getauxval(AT_HWCAP) & kHwcapNeon) != 0;
}
#endif
#endif

// Fastest first. Block sizes: mc x kc of packed A sized for L2, kc x NR of packed B for L1,
// kc x nc of packed B for L3; these are the fallbacks (tuned on an AMD Zen 4 for the x86 kernels;
// the ARM ones follow BLIS's Cortex-A defaults) for builds without cpuinfo: sgemm_blocking()
// derives them from the caches it reports.
constexpr std::array kUkernels{
#if defined(__x86_64__) || defined(_M_X64)
  SgemmUkernel{"avx512_14x32",
               14,
               32,
               sgemm_ukernel_avx512_14x32,
               has_avx512f,
               {14 * 24, 256, 32 * 64},
               sgemm_ukernel_avx512_14x32_strided_b,
               nullptr,
               {{{16, sgemm_ukernel_avx512_14x16}, {1, sgemm_ukernel_avx512_14x1}}},
               sgemm_ukernel_avx512_14x32_epilogue},
      SgemmUkernel{"avx2_fma_6x16",
                   6,
                   16,
                   sgemm_ukernel_avx2_fma_6x16,
                   has_avx2_fma,
                   {6 * 28, 256, 16 * 255, 6 * 12},
                   sgemm_ukernel_avx2_fma_6x16_strided_b,
                   sgemm_pack_a_avx2_6,
                   {{{8, sgemm_ukernel_avx2_fma_6x8}, {1, sgemm_ukernel_avx2_fma_6x1}}},
                   sgemm_ukernel_avx2_fma_6x16_epilogue},
#endif
#if defined(__aarch64__)
      // strided_b_max_m 0 on the ARM kernels: the provider's skinny path is unmeasured on ARM
      // cores (the backend uses the strided-B variant for partial row panels).
      SgemmUkernel{"neon_8x12",
                   8,
                   12,
                   sgemm_ukernel_neon_8x12,
                   always,
                   {8 * 15, 640, 12 * 256},
                   sgemm_ukernel_neon_8x12_strided_b,
                   nullptr,
                   {{{4, sgemm_ukernel_neon_8x4}, {1, sgemm_ukernel_neon_8x1}}},
                   sgemm_ukernel_neon_8x12_epilogue},
#endif
#if defined(__arm__)
      SgemmUkernel{"neon_armv7_6x8",
                   6,
                   8,
                   sgemm_ukernel_neon_armv7_6x8,
                   has_neon,
                   {6 * 20, 256, 8 * 256},
                   sgemm_ukernel_neon_armv7_6x8_strided_b,
                   nullptr,
                   {{{4, sgemm_ukernel_neon_armv7_6x4}}},
                   sgemm_ukernel_neon_armv7_6x8_epilogue},
#endif
      SgemmUkernel{"ref_8x8",
                   8,
                   8,
                   sgemm_ukernel_ref_8x8,
                   always,
                   {8 * 8, 256, 8 * 256, 8 * 4},
                   sgemm_ukernel_ref_8x8_strided_b},
};

constexpr bool blocking_is_consistent() {
  for (const auto& k : kUkernels) {
    if (k.mr * k.nr > kMaxUkernelTile) return false;
    if (k.blocking.mc % k.mr != 0 || k.blocking.nc % k.nr != 0 || k.blocking.kc <= 0) return false;
  }
  return true;
}
static_assert(blocking_is_consistent(), "tile larger than kMaxUkernelTile or blocks not multiples");

}  // namespace

std::span<const SgemmUkernel> sgemm_ukernels() { return kUkernels; }

SgemmNarrowUkernel covering_ukernel(const SgemmUkernel& kernel, int width) {
  SgemmNarrowUkernel best{kernel.nr, kernel.fn};
  for (const SgemmNarrowUkernel& narrow : kernel.narrow) {
    if (narrow.nr > 0 && narrow.nr >= width && narrow.nr < best.nr) best = narrow;
  }
  return best;
}

RemainderTiles remainder_tiles(const SgemmUkernel& kernel, int width) {
  const SgemmNarrowUkernel* one = nullptr;
  for (const SgemmNarrowUkernel& narrow : kernel.narrow)
    if (narrow.nr == 1) one = &narrow;
  if (one != nullptr && width > 2) {
    for (const SgemmNarrowUkernel& narrow : kernel.narrow)
      if (narrow.nr == width - 1) return {{narrow, *one}, 2};
  }
  return {{covering_ukernel(kernel, width)}, 1};
}

CacheSizes cpu_cache_sizes() {
  CacheSizes sizes;
#if defined(LIBSCOUT_NATIVE_HAVE_CPUINFO)
  if (!cpuinfo_ready()) return sizes;
  auto per_core = [](const cpuinfo_cache* cache) -> long {
    if (cache == nullptr) return 0;
    return static_cast<long>(cache->size) / std::max<uint32_t>(1, cache->processor_count);
  };
  // Private caches are counted whole (shared only by SMT siblings of one core).
  if (const cpuinfo_cache* l1 = cpuinfo_get_l1d_cache(0)) sizes.l1d = l1->size;
  if (const cpuinfo_cache* l2 = cpuinfo_get_l2_cache(0)) sizes.l2 = l2->size;
  sizes.l3 = cpuinfo_get_l3_caches_count() > 0 ? per_core(cpuinfo_get_l3_cache(0)) : 0;
#endif
  return sizes;
}

SgemmBlocking blocking_for_caches(const SgemmUkernel& kernel, const CacheSizes& caches) {
  SgemmBlocking blk = kernel.blocking;
  const long bytes = sizeof(float);
  if (caches.l1d > 0) {
    const long kc = caches.l1d / (kernel.nr * bytes) / 8 * 8;
    blk.kc = static_cast<int>(std::clamp(kc, 64L, 1024L));
  }
  if (caches.l2 > 0) {
    const long mc = caches.l2 / 2 / (blk.kc * bytes) / kernel.mr * kernel.mr;
    blk.mc = static_cast<int>(std::clamp<long>(mc, kernel.mr, 4096L / kernel.mr * kernel.mr));
  }
  if (caches.l3 > 0) {
    const long nc = caches.l3 / 2 / (blk.kc * bytes) / kernel.nr * kernel.nr;
    blk.nc = static_cast<int>(std::clamp<long>(nc, 16L * kernel.nr, 8192L / kernel.nr * kernel.nr));
  }
  return blk;
}

SgemmBlocking sgemm_blocking(const SgemmUkernel& kernel) {
  return blocking_for_caches(kernel, cpu_cache_sizes());
}

const SgemmUkernel& choose_sgemm_ukernel(const char* requested) {
  if (requested != nullptr && *requested != '\0') {
    const SgemmUkernel* k = find_sgemm_ukernel(requested);
    if (k != nullptr && k->is_supported()) return *k;
    std::string known;
    for (const auto& e : kUkernels) {
      if (e.is_supported()) known += (known.empty() ? "" : ", ") + std::string(e.name);
    }
    std::fprintf(stderr,
                 "libscout: LIBSCOUT_NATIVE_KERNEL=%s is not a micro-kernel this CPU runs (%s); "
                 "using the fastest\n",
                 requested, known.c_str());
  }
  for (const auto& k : kUkernels)
    if (k.is_supported()) return k;
  return kUkernels.back();
}

const SgemmUkernel& best_sgemm_ukernel() {
  static const SgemmUkernel& best = choose_sgemm_ukernel(std::getenv("LIBSCOUT_NATIVE_KERNEL"));
  return best;
}

const SgemmUkernel* find_sgemm_ukernel(std::string_view name) {
  for (const auto& k : kUkernels)
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace libscout::gemm::native
