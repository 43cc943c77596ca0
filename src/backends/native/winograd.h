// 3x3 stride-1 convolutions with Winograd F(4x4, 3x3) (Lavin and Gray's transforms, points
// 0, +-1, +-2, infinity), in NCHW at the boundary:
//   prepare: U[xi] = G g G^T for every (output, input) channel pair, as 36 matrices (Cout x Cin)
//            packed once into the micro-kernel's MR-tall A panels;
//   run, per block of 4x4 output tiles (as many as keep V and M within a few MiB; a whole image of
//   the common layers), three phases with the threads split inside each (or, at several threads
//   with enough tiles, each thread its own smaller blocks through all three):
//     input, per input channel: the padded rows as four phase planes (column 4k + q of phase q at
//       k), so that element (i, j) of 16 consecutive tiles of a tile row is one vector load;
//       V = B^T d B vectorized across those tiles, into V[xi] (Cin x tiles, tiles contiguous);
//     M[xi] (Cout x tiles) = U[xi] V[xi] for the 36 points xi, 36 independent GEMMs on the native
//       micro-kernels (V read in place as B);
//     output, per output channel: y = A^T m A + bias, activation, vectorized across tiles, the
//       columns of 16 tiles interleaved in registers into output rows (partial tiles clipped).
// Each transform's error grows with the points' magnitudes; F(4x4) keeps the whole-network error
// of the zoo's models near 1e-6 relative L2 (tests/backends_native), F(6x6) would not.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "backends/native/conv_kernels.h"

namespace libscout::native_nn {

std::unique_ptr<LayerKernel> make_winograd_conv(const Graph& g, const Layer& l,
                                                const KernelEnv& env);

// U = G g G^T of one 3x3 kernel g (row-major), in double: 36 values, row-major 6x6.
std::array<double, 36> winograd_weight_transform(const float* g);

}  // namespace libscout::native_nn
