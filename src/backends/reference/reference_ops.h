// Every op as plain loops. With Acc = double this is the oracle: slow and obviously correct, and
// every other backend and kernel is validated against it. With Acc = float it is the simple
// portable code that the gemm:* backends use for the layers that are not convolutions or fully
// connected (pooling, concat, softmax, ...), as Caffe does.
#pragma once

#include <span>

#include "core/graph.h"

namespace libscout::reference {

// Computes `layer` from its input buffers (NCHW, shapes from g) into `out`.
template <typename Acc>
void forward(const Graph& g, const Layer& layer, std::span<const float* const> inputs, float* out);

extern template void forward<double>(const Graph&, const Layer&, std::span<const float* const>,
                                     float*);
extern template void forward<float>(const Graph&, const Layer&, std::span<const float* const>,
                                    float*);

}  // namespace libscout::reference
