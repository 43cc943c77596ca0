// Native SGEMM against OpenBLAS, interleaved: on a machine shared with other work a ratio is only
// meaningful when both sides saw the same load, so each round times one call of every shape on
// one library and then on the other (the order alternating from round to round), and the ratio
// is formed per round as well as from the medians.
//
//   versus_openblas/square<n>/threads:<t>     one n x n x n shape
//   versus_openblas/<model>/threads:<t>       the distinct GEMM shapes of a zoo model
//                                             (model_gemm_shapes), each weighted by its calls
//
// Method: operands uniform in [-1, 1), alpha 1, beta 0; one untimed call of each (library, shape),
// then rounds until `kMinSeconds` have passed and at least `kMinRounds` were made. In a round a
// shape runs its calls in a row, as a network makes them (a depthwise layer lowered per channel is
// 1 x 49 x 9 GEMM called 1536 times back to back, warm in the caches), timed as one interval with
// steady_clock; timing one cold call and multiplying it by 1536 measured cache misses and branch
// mispredictions no network pays. Counters:
//   native_ms, openblas_ms   sum over shapes of calls x the median time of one call
//   ratio                    openblas_ms / native_ms (above 1: native faster)
//   ratio_q1, ratio_q3       quartiles of the per-round ratio of weighted totals (the spread)
// With LIBSCOUT_VERSUS_DETAIL set, each shape's medians and ratio are printed on stderr.
#pragma once

#include "openblas_dlopen.h"

namespace libscout::bench {

// Registers the versus_openblas benchmarks (1 and 2 threads).
void register_versus_openblas(const OpenBlas* blas);

}  // namespace libscout::bench
