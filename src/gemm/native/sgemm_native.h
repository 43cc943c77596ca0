// libscout's native SGEMM framework: the portable part of the BLIS algorithm around one
// micro-kernel (sgemm_ukernel.h). Five loops:
//   jc over N in blocks of nc      (a kc x nc slice of op(B), packed into NR-wide panels: L3)
//    pc over K in slices of kc     (beta applies on the first slice only, then C accumulates)
//     ic over M in blocks of mc    (an mc x kc block of alpha*op(A), MR-tall packed panels: L2)
//      jr over the block's columns in steps of NR   (one B micro-panel: L1)
//       ir over the block's rows in steps of MR     -> micro-kernel on one MR x NR tile of C
// Slices and blocks are of near-equal size (no sliver at the end); a shallow slice gets taller A
// blocks; each B panel is packed just before its first use. Transposes and alpha are handled
// while packing (a kernel may bring its own packing of A); partial panels are padded with zeros
// and partial tiles of C go through a small temporary tile, so the kernel only ever sees full
// tiles. Threads take one slab of C each (cut along N when n >= m, else along M) and run the five
// loops on it with their own packing buffers: one fork and one join per product, which matters on
// a machine shared with other work, where every barrier waits for a descheduled thread. Products
// under blocking.min_task_kmacs thousand multiply-adds per thread use fewer threads.
// Skinny products (at most blocking.strided_b_max_m rows, op(B) not transposed, a kernel with a
// strided-B variant) skip packing B: the kernel reads B's rows in place (in slices a quarter as
// deep), A is packed whole beforehand, and threads split the columns. A single row of C with
// op(B) transposed is a set of dot products with B's rows (no packing).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "gemm/gemm_provider.h"
#include "gemm/native/sgemm_ukernels.h"
#include "gemm/native/thread_pool.h"

namespace libscout::gemm::native {

// Packing buffers kept between calls (grown, never shrunk), 64-byte aligned: one pair per task
// of a parallel product, and one for whole-product packing done before the tasks start.
class SgemmWorkspace {
 public:
  struct Buffer {
    struct Free {
      void operator()(float* p) const;
    };
    std::unique_ptr<float[], Free> data;
    std::size_t capacity = 0;
    float* reserve(std::size_t floats);
  };
  struct TaskBuffers {
    Buffer a, b;
  };

  float* packed_a(std::size_t floats) { return shared_a_.reserve(floats); }
  // Task `index`'s buffers; the list grows on first use, so call it for every index before the
  // tasks run concurrently (references stay valid: entries are never moved).
  TaskBuffers& task(std::size_t index);

 private:
  Buffer shared_a_;
  std::vector<std::unique_ptr<TaskBuffers>> tasks_;
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
