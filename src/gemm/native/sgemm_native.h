// libscout's native SGEMM framework: the portable part of the BLIS algorithm around one
// micro-kernel (sgemm_ukernel.h). Five loops:
//   jc over N in blocks of nc      (a kc x nc slice of op(B) is packed into NR-wide panels: L3)
//    pc over K in blocks of kc     (beta applies on the first slice only, then C accumulates)
//     ic over M in blocks of mc    (an mc x kc block of alpha*op(A) is packed into MR-tall panels: L2)
//      jr over the block's columns in steps of NR   (one B micro-panel: L1)
//       ir over the block's rows in steps of MR     -> micro-kernel on one MR x NR tile of C
// Transposes and alpha are handled while packing; partial panels are padded with zeros and partial
// tiles of C go through a small temporary tile, so the kernel only ever sees full tiles. Threads
// share the packing of each slice and split the (ic, jc-part) blocks between them.
// Skinny products (at most blocking.strided_b_max_m rows, op(B) not transposed, a kernel with a
// strided-B variant) skip packing B: the kernel reads B's rows in place, A is packed whole per kc
// slice, and threads split the columns.
#pragma once

#include <cstddef>
#include <memory>

#include "gemm/gemm_provider.h"
#include "gemm/native/sgemm_ukernels.h"
#include "gemm/native/thread_pool.h"

namespace libscout::gemm::native {

// Packing buffers kept between calls (grown, never shrunk), 64-byte aligned.
class SgemmWorkspace {
 public:
  float* packed_a(std::size_t floats) { return a_.reserve(floats); }
  float* packed_b(std::size_t floats) { return b_.reserve(floats); }

 private:
  struct Buffer {
    struct Free {
      void operator()(float* p) const;
    };
    std::unique_ptr<float[], Free> data;
    std::size_t capacity = 0;
    float* reserve(std::size_t floats);
  };
  Buffer a_, b_;
};

// C := alpha * op(A) * op(B) + beta * C (row-major, sgemm_provider.h's contract; C is not read when
// beta == 0) with the given micro-kernel and block sizes. The arguments must be valid (see
// check_sgemm_args); the kernel must be supported by this CPU. Not reentrant on one workspace.
void sgemm_native(const SgemmArgs& args, const SgemmUkernel& kernel, const SgemmBlocking& blocking,
                  ThreadPool& pool, SgemmWorkspace& workspace);

// Throws libscout::Error naming the first invalid argument (negative sizes, leading dimensions
// smaller than a row, null pointers for a non-empty operand).
void check_sgemm_args(const SgemmArgs& args);

}  // namespace libscout::gemm::native
