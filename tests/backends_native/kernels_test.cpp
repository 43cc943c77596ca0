// Each native kernel against its reference twin on edge shapes: widths around the vector lanes
// and the 4-vector blocks, channels off the micro-kernel's tiles, depths over the K slice,
// asymmetric and missing padding, batches, every fused activation, one and two threads, and every
// vector build this CPU runs (the portable one included).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "backends/native/packed_gemm.h"
#include "backends/native/transposed_gemm.h"
#include "backends/native/winograd.h"
#include "kernel_check.h"
#include "models/graph_builder.h"
#include "support/conv_params.h"

namespace libscout::native_nn {
namespace {

using libscout::testing::square_conv;
using testing::expect_layer_matches;
using testing::simd_builds;

Graph conv_graph(Shape in, Conv2dParams p, Activation act) {
  p.activation = act;
  GraphBuilder b("conv", in, 404);
  const ValueId y = b.conv(b.input(), "conv", p);
  return b.finish({y});
}

constexpr Activation kActivations[] = {Activation::kNone, Activation::kRelu, Activation::kRelu6};

// p with each side's padding of its own.
Conv2dParams padded(Conv2dParams p, int top, int left, int bottom, int right) {
  p.pad_top = top;
  p.pad_left = left;
  p.pad_bottom = bottom;
  p.pad_right = right;
  return p;
}

TEST(NativeKernels, DepthwiseMatchesReference) {
  struct Case {
    Shape in;
    int stride, pad;
  };
  const Case cases[] = {
      {{1, 13, 9, 11}, 1, 1},
      {{2, 24, 16, 16}, 2, 1},
      {{1, 17, 7, 7}, 2, 1},
      {{1, 8, 6, 6}, 1, 0},
      {{1, 5, 1, 1}, 1, 1},
      {{1, 3, 2, 37}, 2, 1},
      {{1, 4, 5, 65}, 1, 1},
      {{1, 4, 3, 130}, 2, 1},
      {{1, 6, 17, 33}, 1, 2},
      {{1, 2, 9, 8}, 2, 0},
      {{1, 3, 4, 16}, 1, 1},
      {{1, 3, 5, 129}, 2, 2},
      // Stride 1, padding 1 read in place (depthwise3x3_same): one row, a vector and one more,
      // four-vector blocks with an overlapping last vector, a batch.
      {{2, 3, 1, 40}, 1, 1},
      {{1, 2, 7, 17}, 1, 1},
      {{1, 3, 6, 100}, 1, 1},
      {{2, 2, 3, 56}, 1, 1},
      // Rows narrower than a vector, planes of a vector or more (in place) or less (packed):
      // several rows per vector, a plane of exactly one vector, one row, two rows, a batch.
      {{1, 3, 14, 14}, 1, 1},
      {{1, 2, 7, 7}, 1, 1},
      {{2, 3, 4, 4}, 1, 1},
      {{1, 2, 8, 2}, 1, 1},
      {{2, 2, 9, 9}, 1, 1},
      {{1, 3, 1, 15}, 1, 1},
      {{1, 2, 2, 12}, 1, 1},
      {{1, 2, 2, 7}, 1, 1},
      {{1, 3, 7, 5}, 1, 1},
      {{1, 2, 4, 3}, 1, 1},
      // Stride 2 on even planes, read in place too: one vector, first and overlapping last,
      // four-vector blocks.
      {{2, 2, 4, 32}, 2, 1},
      {{1, 3, 8, 40}, 2, 1},
      {{1, 2, 10, 200}, 2, 1},
      {{1, 3, 6, 64}, 2, 1},
      // Stride 2 on output rows narrower than a vector, in place where the planes allow: several
      // rows per vector, the input's last rows shifted from its last two vectors, odd sizes.
      {{1, 3, 28, 28}, 2, 1},
      {{2, 2, 14, 14}, 2, 1},
      {{1, 2, 10, 12}, 2, 1},
      {{1, 3, 16, 6}, 2, 1},
      {{1, 2, 8, 8}, 2, 1},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      for (Activation act : kActivations) {
        const Graph g = conv_graph(c.in, square_conv(c.in.c, 3, c.stride, c.pad, c.in.c), act);
        ASSERT_TRUE(depthwise_applies(g, g.layers[0]));
        for (int threads : {1, 2}) {
          expect_layer_matches(g, ConvAlgorithm::kDepthwise, *simd, threads, 1e-6,
                               "depthwise " + c.in.str() + " " + activation_name(act));
        }
      }
    }
  }
}

// The channel-vectorized kernel for small planes: channels a multiple of every build's vector
// (16), widths around the vector and the transposes' blocks, strides, one-sided padding, a batch.
TEST(NativeKernels, DepthwiseBlockedMatchesReference) {
  struct Case {
    Shape in;
    int stride, top, left, bottom, right;
  };
  const Case cases[] = {
      {{1, 16, 7, 7}, 1, 1, 1, 1, 1},  {{2, 32, 14, 14}, 2, 1, 1, 1, 1},
      {{1, 16, 3, 20}, 1, 1, 1, 1, 1}, {{1, 48, 9, 17}, 2, 0, 0, 1, 1},
      {{1, 16, 1, 1}, 1, 1, 1, 1, 1},  {{1, 32, 6, 32}, 1, 0, 2, 2, 0},
      {{1, 16, 5, 4}, 1, 0, 0, 0, 0},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      const Conv2dParams p =
          padded(square_conv(c.in.c, 3, c.stride, 0, c.in.c), c.top, c.left, c.bottom, c.right);
      for (Activation act : kActivations) {
        const Graph g = conv_graph(c.in, p, act);
        ASSERT_TRUE(depthwise_blocked_applies(g, g.layers[0], simd->lanes)) << c.in.str();
        for (int threads : {1, 2}) {
          expect_layer_matches(g, ConvAlgorithm::kDepthwiseBlocked, *simd, threads, 1e-6,
                               "depthwise blocked " + c.in.str() + " " + activation_name(act));
        }
      }
    }
  }
}

// TensorFlow's SAME at stride 2, and one-sided padding at stride 1, where the packed plane's
// rows share their padding (left of one row = right of the one before) only when both sides pad.
TEST(NativeKernels, DepthwiseAsymmetricPadding) {
  struct Case {
    Shape in;
    int stride, top, left, bottom, right;
  };
  const Case cases[] = {
      {{1, 7, 10, 12}, 2, 0, 0, 1, 1}, {{1, 3, 6, 5}, 1, 0, 0, 2, 2},
      {{1, 3, 6, 5}, 1, 2, 2, 0, 0},   {{1, 3, 9, 21}, 1, 1, 0, 1, 2},
      {{1, 3, 9, 21}, 1, 0, 2, 1, 0},  {{1, 3, 7, 9}, 2, 1, 0, 0, 1},
      {{1, 3, 8, 36}, 2, 1, 1, 0, 0},  {{1, 3, 8, 36}, 2, 1, 1, 1, 0},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      const Conv2dParams p =
          padded(square_conv(c.in.c, 3, c.stride, 0, c.in.c), c.top, c.left, c.bottom, c.right);
      expect_layer_matches(conv_graph(c.in, p, Activation::kRelu6), ConvAlgorithm::kDepthwise,
                           *simd, 1, 1e-6, "depthwise padded " + c.in.str());
    }
  }
}

// Dense 3x3 with few input channels (first layers): strides, one-sided padding, output channels
// around the register block, rows around the vector width, a batch of two, every vector build.
TEST(NativeKernels, DirectConvMatchesReference) {
  struct Case {
    Shape in;
    int cout, stride, top, left, bottom, right;
  };
  const Case cases[] = {
      {{1, 3, 40, 45}, 32, 2, 1, 1, 1, 1}, {{2, 1, 18, 18}, 13, 1, 1, 1, 1, 1},
      {{1, 4, 20, 33}, 9, 1, 0, 0, 0, 0},  {{1, 2, 35, 70}, 8, 2, 0, 0, 1, 1},
      {{1, 3, 21, 37}, 5, 1, 2, 0, 0, 2},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      const Conv2dParams p =
          padded(square_conv(c.cout, 3, c.stride, 0, 1), c.top, c.left, c.bottom, c.right);
      for (Activation act : kActivations) {
        const Graph g = conv_graph(c.in, p, act);
        ASSERT_TRUE(direct_applies(g, g.layers[0])) << c.in.str();
        for (int threads : {1, 2}) {
          expect_layer_matches(g, ConvAlgorithm::kDirect, *simd, threads, 1e-6,
                               "direct " + c.in.str() + " " + activation_name(act));
        }
      }
    }
  }
}

TEST(NativeKernels, GemmConvMatchesReference) {
  struct Case {
    Shape in;
    Conv2dParams p;
  };
  const Case cases[] = {
      {{1, 19, 5, 3}, square_conv(37, 1, 1, 0)},
      {{3, 40, 1, 1}, square_conv(9, 1, 1, 0)},
      {{1, 20, 6, 6}, square_conv(28, 3, 2, 1, 4)},
      {{1, 3, 33, 33}, square_conv(32, 3, 2, 1)},
      {{2, 3, 23, 23}, square_conv(16, 7, 2, 3)},
      {{1, 700, 3, 5}, square_conv(13, 1, 1, 0)},
      {{1, 6, 8, 8}, square_conv(12, 3, 1, 1, 6)},
      {{1, 16, 9, 9}, square_conv(24, 1, 2, 0)},
      {{1, 8, 7, 7}, square_conv(6, 3, 1, 1)},
      {{1, 5, 40, 41}, square_conv(17, 1, 1, 0)},
      // Lowered by bands of output rows on each thread (lowering.h), odd widths, strides 2 and 3,
      // dilation, one-sided padding.
      {{1, 3, 100, 97}, square_conv(20, 7, 2, 3)},
      {{1, 32, 48, 48}, square_conv(24, 3, 2, 1)},
      {{1, 16, 90, 91}, square_conv(24, 5, 3, 2)},
      {{1, 64, 40, 40}, square_conv(15, 3, 1, 1)},
      {{1, 8, 30, 31}, square_conv(16, 3, 1, 2, 1, 2)},
      {{1, 24, 41, 40}, padded(square_conv(16, 3, 2, 0), 0, 1, 2, 0)},
  };
  for (const Case& c : cases) {
    for (Activation act : kActivations) {
      for (int threads : {1, 2}) {
        expect_layer_matches(conv_graph(c.in, c.p, act), ConvAlgorithm::kGemm,
                             *simd_builds().front(), threads, 1e-5, "gemm " + c.in.str());
      }
    }
  }
}

// The same product transposed (pixels as the micro-kernel's rows, channels as its columns): the
// transposed store of every vector build, pixel counts around MR, channels around NR and the
// vector width, grouped and im2col-lowered layers, a batch.
TEST(NativeKernels, TransposedGemmConvMatchesReference) {
  struct Case {
    Shape in;
    Conv2dParams p;
  };
  const Case cases[] = {
      {{1, 130, 7, 7}, square_conv(64, 1, 1, 0)}, {{2, 40, 14, 14}, square_conv(37, 1, 1, 0)},
      {{1, 20, 5, 3}, square_conv(33, 1, 1, 0)},  {{1, 24, 9, 9}, square_conv(16, 3, 1, 1, 2)},
      {{1, 9, 13, 11}, square_conv(5, 3, 2, 1)},  {{1, 200, 1, 1}, square_conv(70, 1, 1, 0)},
  };
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      for (Activation act : kActivations) {
        for (int threads : {1, 2}) {
          expect_layer_matches(conv_graph(c.in, c.p, act), ConvAlgorithm::kGemmTransposed, *simd,
                               threads, 1e-5, "gemm transposed " + c.in.str());
        }
      }
    }
  }
}

// The vector kernels follow the micro-kernel (LIBSCOUT_NATIVE_KERNEL may pick a narrower one):
// never a wider instruction set than it, the portable build with the reference kernel.
TEST(NativeKernels, VectorBuildFollowsTheMicroKernel) {
  const gemm::native::SgemmUkernel* ref = gemm::native::find_sgemm_ukernel("ref_8x8");
  ASSERT_NE(ref, nullptr);
  EXPECT_STREQ(simd_kernels_for(*ref).name, "portable");
  // The fastest kernel gets the fastest build this CPU runs.
  const SimdKernels* fastest[1] = {};
  ASSERT_EQ(supported_simd_kernels(fastest, 1), 1);
  EXPECT_EQ(&simd_kernels_for(gemm::native::choose_sgemm_ukernel(nullptr)), fastest[0]);
  const gemm::native::SgemmUkernel* avx2 = gemm::native::find_sgemm_ukernel("avx2_fma_6x16");
  if (avx2 != nullptr && avx2->is_supported()) {
    EXPECT_STREQ(simd_kernels_for(*avx2).name, "avx2");
  }
}

// Where the transposed GEMM is chosen: MobileNet v1's 14x14 layers (196 = 14 MR-tall panels,
// not a multiple of NR = 32) on the AVX-512 kernel, never for a shallow product.
TEST(NativeKernels, TransposedGemmChosenWhereItsTilesFit) {
  const gemm::native::SgemmUkernel* k = gemm::native::find_sgemm_ukernel("avx512_14x32");
  if (k == nullptr) GTEST_SKIP() << "no AVX-512 kernel in this build (the rule is tested on x86)";
  EXPECT_TRUE(prefer_transposed(*k, 512, 196, 512));
  EXPECT_TRUE(prefer_transposed(*k, 1024, 49, 1024));
  EXPECT_FALSE(prefer_transposed(*k, 64, 12544, 32));   // too shallow
  EXPECT_FALSE(prefer_transposed(*k, 512, 3136, 512));  // 1% less padding: not worth it
  EXPECT_FALSE(prefer_transposed(*k, 448, 1024, 512));  // both ways fit exactly
}

// F(4x4, 3x3) in float: a per-layer bound of 2e-5 relative L2 on seeded data (measured errors are
// printed); the whole-network bound is checked in models_test.cpp.
TEST(NativeKernels, WinogradMatchesReference) {
  struct Case {
    Shape in;
    int cout, pad;
  };
  const Case cases[] = {
      {{1, 16, 4, 4}, 16, 1},
      {{1, 16, 7, 7}, 16, 1},
      {{2, 17, 9, 13}, 19, 1},
      {{1, 64, 14, 14}, 64, 1},
      {{1, 32, 5, 29}, 40, 0},
      {{1, 24, 11, 10}, 33, 2},
      {{1, 520, 6, 6}, 16, 1},
      {{3, 16, 1, 1}, 16, 1},
      {{1, 48, 56, 56}, 32, 1},
      // Enough tiles for private blocks at 2 threads, one of them across two images.
      {{3, 16, 26, 22}, 24, 1},
  };
  double worst = 0;
  for (const SimdKernels* simd : simd_builds()) {
    for (const Case& c : cases) {
      for (Activation act : kActivations) {
        const Graph g = conv_graph(c.in, square_conv(c.cout, 3, 1, c.pad), act);
        ASSERT_TRUE(winograd_applies(g, g.layers[0]));
        for (int threads : {1, 2}) {
          worst = std::max(worst, expect_layer_matches(g, ConvAlgorithm::kWinograd, *simd,
                                                       threads, 2e-5, "winograd " + c.in.str()));
        }
      }
    }
  }
  std::printf("winograd F(4x4,3x3): worst per-layer relative L2 error %.3g\n", worst);
}

TEST(NativeKernels, WinogradWeightTransformOfADeltaKernel) {
  // g = delta at the centre: U = G e1 G^T = column 1 of G times its transpose.
  const float g[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const auto u = winograd_weight_transform(g);
  const double col[6] = {0, -1.0 / 6, 1.0 / 6, 1.0 / 12, -1.0 / 12, 0};
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(u[i * 6 + j], col[i] * col[j], 1e-15) << i << "," << j;
  }
}

// C = A B + bias, activation, against double sums: rows and columns around the tile (a last
// column panel on each narrower tile), depths over the K slice, both ways of splitting the work
// between threads; every micro-kernel this CPU runs.
void expect_packed_gemm_matches(const PackedGemm& gemm) {
  const int mr = gemm.kernel->mr, nr = gemm.kernel->nr, kc = gemm.blocking.kc;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  gemm::native::ThreadPool pool(2);
  GemmScratch scratch;
  for (int m : {1, mr - 1, mr, mr + 1, 4 * mr + 3}) {
    for (int n : {1, nr / 2, nr - 1, nr, nr + 1, nr + nr / 2 - 3, 9 * nr + 5}) {
      for (int k : {1, 7, kc + 3}) {
        std::vector<float> a(m * k), b(k * (n + 3)), bias(m), c(m * (n + 2), -7.0f);
        for (float& v : a) v = dist(rng);
        for (float& v : b) v = dist(rng);
        for (float& v : bias) v = dist(rng);
        const PackedMatrix pa(a.data(), m, k, k, mr, kc);
        gemm_packed_a(gemm, pa, b.data(), n + 3, n, c.data(), n + 2,
                      {bias.data(), Activation::kRelu6}, pool, scratch);
        for (int i = 0; i < m; ++i) {
          for (int j = 0; j < n + 2; ++j) {
            double want = -7.0;
            if (j < n) {
              want = bias[i];
              for (int p = 0; p < k; ++p) want += double(a[i * k + p]) * b[p * (n + 3) + j];
              want = std::min(std::max(want, 0.0), 6.0);
            }
            ASSERT_NEAR(c[i * (n + 2) + j], want, 1e-4 * (1 + k / 64))
                << gemm.kernel->name << ": m " << m << " n " << n << " k " << k << " at (" << i
                << ", " << j << ")";
          }
        }
      }
    }
  }
}

TEST(NativeKernels, PackedGemmMatchesDoubleProduct) {
  int kernels = 0;
  for (const gemm::native::SgemmUkernel& k : gemm::native::sgemm_ukernels()) {
    if (!k.is_supported()) continue;
    PackedGemm gemm = default_packed_gemm();
    gemm.kernel = &k;
    gemm.blocking = gemm::native::sgemm_blocking(k);
    expect_packed_gemm_matches(gemm);
    ++kernels;
  }
  EXPECT_GE(kernels, 1);
}

}  // namespace
}  // namespace libscout::native_nn
