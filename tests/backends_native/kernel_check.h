// Runs one layer's native kernel on a graph of that layer alone and compares it with its
// reference twin (reference::forward<double>), for every vector build this CPU runs.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/native/conv_kernels.h"
#include "backends/reference/reference_ops.h"
#include "core/engine.h"
#include "models/zoo.h"
#include "support/backend_check.h"

namespace libscout::native_nn::testing {

inline std::vector<const SimdKernels*> simd_builds() {
  const SimdKernels* all[8];
  const int n = supported_simd_kernels(all, 8);
  return {all, all + n};
}

// The layer's output from `kernel` (layer 0 of g, input seeded) next to the reference's.
struct Outputs {
  Tensor got, want;
};

inline Outputs run_layer(const Graph& g, LayerKernel& kernel) {
  const Layer& l = g.layers.at(0);
  const Tensor x = make_input(g, 11);
  std::vector<Tensor> values;
  for (const Value& v : g.values) values.emplace_back(v.shape);
  std::copy_n(x.data(), x.size(), values[g.input].data());
  std::vector<float*> buffers;
  for (Tensor& t : values) buffers.push_back(t.data());
  auto workspace = allocate_floats(kernel.workspace_bytes() / sizeof(float) + 1);
  ExecContext ctx{&g, buffers, workspace.get(), nullptr};
  kernel.run(ctx);
  Tensor want(g.output_shape(l));
  const float* in[1] = {values[g.input].data()};
  reference::forward<double>(g, l, in, want.data());
  return {std::move(values[l.output]), std::move(want)};
}

// Expects the relative L2 error of layer 0's kernel `a` under `tolerance`; returns the error.
inline double expect_layer_matches(const Graph& g, ConvAlgorithm a, const SimdKernels& simd,
                                   int threads, double tolerance, const std::string& what) {
  gemm::native::ThreadPool pool(threads);
  GemmScratch scratch;
  const KernelEnv env{&pool, default_packed_gemm(), &simd, &scratch};
  auto kernel = make_conv_kernel(g, g.layers[0], a, env);
  const Outputs o = run_layer(g, *kernel);
  const double err = relative_l2_error(o.got.span(), o.want.span());
  EXPECT_LE(err, tolerance) << what << " (" << conv_algorithm_name(a) << ", " << simd.name
                            << ", " << threads << " threads, input " << g.shape(g.input).str()
                            << "): relative L2 error " << err << "; worst "
                            << libscout::testing::worst_element(o.got, o.want);
  return err;
}

}  // namespace libscout::native_nn::testing
