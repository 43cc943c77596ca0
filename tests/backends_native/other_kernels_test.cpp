// The native backend's kernels for layers other than convolutions against the reference: 3x3 max
// pooling exactly (a maximum has no rounding: strides 1 and 2, Caffe's ceil mode, padding, planes
// narrower and wider than a vector, a batch, one and two threads, every vector build), global
// average pooling, fully connected layers (the vector kernels' matrix-vector product at batch 1,
// the SGEMM at larger batches).
#include <gtest/gtest.h>

#include <string>

#include "backends/native/other_kernels.h"
#include "kernel_check.h"
#include "models/graph_builder.h"

namespace libscout::native_nn {
namespace {

using testing::run_layer;
using testing::simd_builds;

// Layer 0 of g on its native kernel (make_other_kernel) next to the reference.
testing::Outputs run_other(const Graph& g, const SimdKernels& simd, int threads) {
  gemm::native::ThreadPool pool(threads);
  GemmScratch scratch;
  const KernelEnv env{&pool, default_packed_gemm(), &simd, &scratch};
  auto kernel = make_other_kernel(g, g.layers[0], env);
  return run_layer(g, *kernel);
}

TEST(NativeOtherKernels, MaxPool3x3MatchesReferenceExactly) {
  struct Case {
    Shape in;
    int stride, pad;
    bool ceil_mode;
  };
  const Case cases[] = {
      {{1, 3, 111, 111}, 2, 0, true},  // SqueezeNet's pool1: 55 x 55, the last windows cut
      {{2, 5, 13, 13}, 2, 0, true},
      {{1, 4, 112, 112}, 2, 1, false},  // ResNet's
      {{1, 3, 9, 7}, 1, 1, false},
      {{1, 2, 6, 40}, 1, 0, true},
      {{1, 2, 4, 4}, 2, 1, true},
      {{1, 6, 27, 27}, 2, 0, true},
      // Stride 2 read in place (no window past the plane): odd and even widths, four-vector
      // blocks; and a ceil-mode plane whose last windows are cut (packed instead).
      {{1, 2, 65, 67}, 2, 0, false},
      {{1, 3, 9, 200}, 2, 0, false},
      {{1, 2, 40, 34}, 2, 0, true},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      GraphBuilder b("pool", c.in, 3);
      const ValueId y = b.max_pool(b.input(), "pool", 3, c.stride, c.pad, c.ceil_mode);
      const Graph g = b.finish({y});
      for (int threads : {1, 2}) {
        const testing::Outputs o = run_other(g, *simd, threads);
        ASSERT_EQ(o.got.size(), o.want.size());
        for (std::size_t i = 0; i < o.got.size(); ++i) {
          ASSERT_EQ(o.got[i], static_cast<float>(o.want[i]))
              << simd->name << " " << c.in.str() << " stride " << c.stride << " pad " << c.pad
              << ", " << threads << " threads, element " << i;
        }
      }
    }
  }
}

// Global average pooling in float against the double reference: planes of 1, 7 (a tail only),
// 13 x 13 and 56 x 56 floats.
TEST(NativeOtherKernels, GlobalAveragePoolMatchesReference) {
  for (const Shape& in :
       {Shape{1, 5, 1, 1}, Shape{2, 3, 1, 7}, Shape{1, 1000, 13, 13}, Shape{1, 4, 56, 56}}) {
    GraphBuilder b("gap", in, 3);
    const ValueId y = b.global_avg_pool(b.input(), "gap");
    const Graph g = b.finish({y});
    const testing::Outputs o = run_other(g, *simd_builds().front(), 2);
    EXPECT_LE(relative_l2_error(o.got.span(), o.want.span()), 1e-6) << in.str();
  }
}

TEST(NativeOtherKernels, FullyConnectedMatchesReference) {
  struct Case {
    Shape in;
    int out;
    Activation act;
  };
  const Case cases[] = {
      {{1, 1024, 1, 1}, 1000, Activation::kNone}, {{1, 37, 1, 1}, 5, Activation::kRelu},
      {{1, 3, 4, 5}, 11, Activation::kRelu6},     {{2, 40, 1, 1}, 7, Activation::kNone},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      GraphBuilder b("fc", c.in, 5);
      const ValueId y = b.fully_connected(b.input(), "fc", c.out);
      Graph g = b.finish({y});
      std::get<FullyConnectedParams>(g.layers[0].params).activation = c.act;  // as fusion sets it
      for (int threads : {1, 2}) {
        const testing::Outputs o = run_other(g, *simd, threads);
        EXPECT_LE(relative_l2_error(o.got.span(), o.want.span()), 1e-6)
            << simd->name << " " << c.in.str() << " -> " << c.out << ", " << threads << " threads";
      }
    }
  }
}

}  // namespace
}  // namespace libscout::native_nn
