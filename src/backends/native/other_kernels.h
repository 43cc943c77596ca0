// The native backend's kernels for everything but convolutions: fully connected layers on the
// native SGEMM, 3x3 max pooling on the depthwise convolution's window kernel, global average
// pooling and additions (with their activation) in one vectorized pass each, the other ops on the
// reference's portable float code.
#pragma once

#include <memory>

#include "backends/native/conv_kernels.h"

namespace libscout::native_nn {

std::unique_ptr<LayerKernel> make_other_kernel(const Graph& g, const Layer& l,
                                               const KernelEnv& env);

}  // namespace libscout::native_nn
