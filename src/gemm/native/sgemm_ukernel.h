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
//
// Strided-B contract (optional, BLIS's "sup" idea for skinny products, where packing B would cost
// as much as the product): for 1 <= rows <= MR,
//   C[0:rows, 0:NR] := A_panel[0:rows, :] * B_block + beta * C[0:rows, 0:NR]
// with a packed as above (groups of MR floats, of which the first `rows` are used) and B read in
// place from a row-major op(B):
//   b: row p of the kc x NR block is b[p * ldb ...], NR floats, no alignment.
// Rows of C from `rows` on are neither read nor written; beta == 0 and kc == 0 as above. The
// framework passes only full NR-wide blocks of B in place; it packs a partial one (ldb == NR).
//
// Packing contract (optional, per kernel): the MR-tall packed A micro-panel from a row-major,
// not transposed A: for p < kc, r < MR,
//   dst[p * MR + r] = r < rows ? alpha * a[r * lda + p] : 0     (1 <= rows <= MR)
// computed as the float product alpha * a (bit-identical to the portable packing); dst is written
// only inside its MR * kc floats.
//
// Epilogue contract (optional, per kernel): the full tile with B's rows ldb floats apart (NR: the
// packed panel; wider: B read in place, no alignment), then for each row i of the tile
//   C[i, 0:NR] := min(max(C[i, 0:NR] + bias[i], lo), hi)      (bias may be null: 0)
// before C is stored, so that a convolution's bias and activation cost no second pass over it.
#pragma once

#include <cstddef>

namespace libscout::gemm::native {

using SgemmUkernelFn = void (*)(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
using SgemmPackAFn = void (*)(std::size_t rows, std::size_t kc, const float* a, std::size_t lda,
                              float alpha, float* dst);
using SgemmUkernelEpilogueFn = void (*)(std::size_t kc, const float* a, const float* b,
                                        std::size_t ldb, float* c, std::size_t ldc, float beta,
                                        const float* bias, float lo, float hi);
using SgemmUkernelStridedBFn = void (*)(std::size_t rows, std::size_t kc, const float* a,
                                        const float* b, std::size_t ldb, float* c,
                                        std::size_t ldc, float beta);

// The portable reference micro-kernel for any MR x NR: plain loops, float sums in the order
// p = 0..kc-1. Optimized kernels are tested against it (ldb == nr: the packed contract).
void sgemm_ukernel_ref(int mr, int nr, std::size_t kc, const float* a, const float* b,
                       std::size_t ldb, float* c, std::size_t ldc, float beta);

// The micro-kernels, one per file, each compiled only for the architecture it targets with its
// instruction-set flags.
void sgemm_ukernel_ref_8x8(std::size_t kc, const float* a, const float* b, float* c,
                           std::size_t ldc, float beta);
void sgemm_ukernel_ref_8x8_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                     const float* b, std::size_t ldb, float* c, std::size_t ldc,
                                     float beta);
#if defined(__x86_64__) || defined(_M_X64)
void sgemm_ukernel_avx2_fma_6x16(std::size_t kc, const float* a, const float* b, float* c,
                                 std::size_t ldc, float beta);
void sgemm_pack_a_avx2_6(std::size_t rows, std::size_t kc, const float* a, std::size_t lda,
                         float alpha, float* dst);
void sgemm_ukernel_avx2_fma_6x16_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                           const float* b, std::size_t ldb, float* c,
                                           std::size_t ldc, float beta);
void sgemm_ukernel_avx2_fma_6x16_epilogue(std::size_t kc, const float* a, const float* b,
                                          std::size_t ldb, float* c, std::size_t ldc, float beta,
                                          const float* bias, float lo, float hi);
void sgemm_ukernel_avx2_fma_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
void sgemm_ukernel_avx2_fma_6x1(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
void sgemm_ukernel_avx512_14x32(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
void sgemm_ukernel_avx512_14x32_epilogue(std::size_t kc, const float* a, const float* b,
                                         std::size_t ldb, float* c, std::size_t ldc, float beta,
                                         const float* bias, float lo, float hi);
void sgemm_ukernel_avx512_14x32_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                          const float* b, std::size_t ldb, float* c,
                                          std::size_t ldc, float beta);
void sgemm_ukernel_avx512_14x16(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, float beta);
void sgemm_ukernel_avx512_14x1(std::size_t kc, const float* a, const float* b, float* c,
                               std::size_t ldc, float beta);
#endif
#if defined(__aarch64__)
void sgemm_ukernel_neon_8x12(std::size_t kc, const float* a, const float* b, float* c,
                             std::size_t ldc, float beta);
void sgemm_ukernel_neon_8x12_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                       const float* b, std::size_t ldb, float* c, std::size_t ldc,
                                       float beta);
void sgemm_ukernel_neon_8x12_epilogue(std::size_t kc, const float* a, const float* b,
                                      std::size_t ldb, float* c, std::size_t ldc, float beta,
                                      const float* bias, float lo, float hi);
void sgemm_ukernel_neon_8x4(std::size_t kc, const float* a, const float* b, float* c,
                            std::size_t ldc, float beta);
void sgemm_ukernel_neon_8x1(std::size_t kc, const float* a, const float* b, float* c,
                            std::size_t ldc, float beta);
#endif
#if defined(__arm__)
void sgemm_ukernel_neon_armv7_6x8(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta);
void sgemm_ukernel_neon_armv7_6x8_strided_b(std::size_t rows, std::size_t kc, const float* a,
                                            const float* b, std::size_t ldb, float* c,
                                            std::size_t ldc, float beta);
void sgemm_ukernel_neon_armv7_6x8_epilogue(std::size_t kc, const float* a, const float* b,
                                           std::size_t ldb, float* c, std::size_t ldc, float beta,
                                           const float* bias, float lo, float hi);
void sgemm_ukernel_neon_armv7_6x4(std::size_t kc, const float* a, const float* b, float* c,
                                  std::size_t ldc, float beta);
#endif

}  // namespace libscout::gemm::native
