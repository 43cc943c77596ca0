// The SGEMM micro-kernel contract of libscout's native GEMM and the declarations of its kernels.
// The kernel files include only this header and the intrinsics header, so that nothing from the
// standard library is compiled with instruction-set flags the CPU may lack (sgemm_ukernels.h
// holds the table that selects among them).
//
// Contract (the same for every kernel, BLIS-style): on packed panels of depth kc,
//   C[0:MR, 0:NR] := A_panel * B_panel + beta * C[0:MR, 0:NR]
// where
//   a: packed A micro-panel, kc groups of MR floats (column p of the MR x kc panel is a[p*MR ...]),
//   b: packed B micro-panel, kc groups of NR floats (row p of the kc x NR panel is b[p*NR ...]),
//   c: row-major tile, element (i, j) at c[i * ldc + j],
// and when beta == 0 C is only written, never read (it may hold NaN). kc may be 0 (then
// C := beta * C). A kernel only ever sees full MR x NR tiles: the framework (sgemm_native.h) pads
// partial panels with zeros and routes partial tiles of C through a temporary tile. alpha is folded
// into the packed A panel, so it is not part of the contract. Panels are aligned to 64 bytes.
#pragma once

#include <cstddef>

namespace libscout::gemm::native {

using SgemmUkernelFn = void (*)(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);

// The portable reference micro-kernel for any MR x NR: plain loops, float sums in the order
// p = 0..kc-1. Optimized kernels are tested against it.
void sgemm_ukernel_ref(int mr, int nr, std::size_t kc, const float* a, const float* b, float* c,
                       std::size_t ldc, float beta);

// The micro-kernels, one per file, each compiled only for the architecture it targets with its
// instruction-set flags.
void sgemm_ukernel_ref_8x8(std::size_t kc, const float* a, const float* b, float* c,
                           std::size_t ldc, float beta);
#if defined(__x86_64__) || defined(_M_X64)
void sgemm_ukernel_avx2_fma_6x16(std::size_t kc, const float* a, const float* b, float* c,
                                 std::size_t ldc, float beta);
void sgemm_ukernel_avx512_14x32(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
#endif
#if defined(__aarch64__)
void sgemm_ukernel_neon_8x12(std::size_t kc, const float* a, const float* b, float* c,
                             std::size_t ldc, float beta);
#endif
#if defined(__arm__)
void sgemm_ukernel_neon_armv7_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta);
#endif

}  // namespace libscout::gemm::native
