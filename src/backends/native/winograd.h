// 3x3 stride-1 convolutions with Winograd F(4x4, 3x3) (Lavin and Gray's transforms, points
// 0, +-1, +-2, infinity), in NCHW at the boundary:
//   prepare: U = G g G^T for every (output, input) channel pair, as 36 matrices (Cin x Cout)
//            packed once into the micro-kernel's NR-wide B panels;
//   run, per block of 4x4 output tiles (the batch's tiles together):
//     V = B^T d B for every (tile, input channel), written straight into the micro-kernel's
//       MR-tall A panels (tiles are the GEMM's rows);
//     M[xi] = V[xi] U[xi] for the 36 points xi: 36 independent GEMMs, one per task;
//     y = A^T m A + bias, activation, into the NCHW output (partial tiles clipped).
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
