// The interleaved native-versus-OpenBLAS benchmarks (versus_openblas.h states the method).
#include "versus_openblas.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "gemm/native/native_provider.h"
#include "measure/gemm_sweep.h"
#include "measure/stats.h"

namespace libscout::bench {
namespace {

constexpr double kMinSeconds = 3.0;
constexpr int kMinRounds = 7;

// One shape's operands, stored as its transposes say, C with no padding.
struct ShapeOperands {
  explicit ShapeOperands(const GemmShape& s, std::mt19937& rng)
      : shape(s), a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c(size_t(s.m) * s.n) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto* x : {&a, &b})
      for (float& v : *x) v = dist(rng);
    args.trans_a = s.trans_a;
    args.trans_b = s.trans_b;
    args.m = s.m;
    args.n = s.n;
    args.k = s.k;
    args.a = a.data();
    args.lda = s.trans_a == gemm::Trans::kYes ? s.m : s.k;
    args.b = b.data();
    args.ldb = s.trans_b == gemm::Trans::kYes ? s.k : s.n;
    args.c = c.data();
    args.ldc = s.n;
  }
  int weight() const { return std::max(1, shape.calls); }

  GemmShape shape;
  std::vector<float> a, b, c;
  gemm::SgemmArgs args;
};

void call_openblas(const OpenBlas& blas, const gemm::SgemmArgs& x) {
  auto op = [](gemm::Trans t) {
    return t == gemm::Trans::kYes ? OpenBlas::kTrans : OpenBlas::kNoTrans;
  };
  blas.sgemm(OpenBlas::kRowMajor, op(x.trans_a), op(x.trans_b), x.m, x.n, x.k, x.alpha, x.a, x.lda,
             x.b, x.ldb, x.beta, x.c, x.ldc);
}

template <typename Call>
double time_ms(Call&& call) {
  const auto t0 = std::chrono::steady_clock::now();
  call();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double quantile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double pos = q * (x.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, x.size() - 1);
  return x[lo] + (pos - lo) * (x[hi] - x[lo]);
}

// Per shape and library, the times of every round; [shape][round].
struct Timings {
  std::vector<std::vector<double>> native, openblas;
};

Timings run_rounds(std::vector<ShapeOperands>& shapes, gemm::Provider& native,
                   const OpenBlas& blas) {
  Timings t;
  t.native.resize(shapes.size());
  t.openblas.resize(shapes.size());
  for (auto& s : shapes) {  // warm-up: packing buffers, pages of C, library threads
    native.sgemm(s.args);
    call_openblas(blas, s.args);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0;; ++round) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (round >= kMinRounds && elapsed >= kMinSeconds) break;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const gemm::SgemmArgs& args = shapes[i].args;
      const int calls = shapes[i].weight();
      // The shape's calls in a row, as the network makes them; the time of one call.
      auto run = [calls](std::vector<double>& out, auto&& call) {
        out.push_back(time_ms([&] {
                        for (int c = 0; c < calls; ++c) call();
                      }) /
                      calls);
      };
      auto on_native = [&] { run(t.native[i], [&] { native.sgemm(args); }); };
      auto on_blas = [&] { run(t.openblas[i], [&] { call_openblas(blas, args); }); };
      if (round % 2 == 0) {
        on_native();
        on_blas();
      } else {
        on_blas();
        on_native();
      }
    }
  }
  return t;
}

void report(benchmark::State& state, const std::vector<ShapeOperands>& shapes, const Timings& t,
            bool detail) {
  double native_ms = 0, blas_ms = 0;
  std::vector<double> round_ratio(t.native[0].size(), 0.0), round_native(round_ratio.size(), 0.0);
  for (size_t i = 0; i < shapes.size(); ++i) {
    const int w = shapes[i].weight();
    const double n_med = summarize(t.native[i]).median, b_med = summarize(t.openblas[i]).median;
    native_ms += w * n_med;
    blas_ms += w * b_med;
    for (size_t r = 0; r < round_ratio.size(); ++r) {
      round_native[r] += w * t.native[i][r];
      round_ratio[r] += w * t.openblas[i][r];
    }
    if (detail)
      std::fprintf(stderr,
                   "  %-24s x%d  native %8.3f ms %6.1f GFLOPS  openblas %8.3f ms  ratio %.2f\n",
                   shapes[i].shape.str().c_str(), w, n_med, shapes[i].shape.flops() / n_med / 1e6,
                   b_med, b_med / n_med);
  }
  for (size_t r = 0; r < round_ratio.size(); ++r) round_ratio[r] /= round_native[r];
  state.counters["native_ms"] = native_ms;
  state.counters["openblas_ms"] = blas_ms;
  state.counters["ratio"] = blas_ms / native_ms;
  state.counters["ratio_q1"] = quantile(round_ratio, 0.25);
  state.counters["ratio_q3"] = quantile(round_ratio, 0.75);
  state.counters["rounds"] = static_cast<double>(round_ratio.size());
}

void bench_versus(benchmark::State& state, const OpenBlas* blas, std::vector<GemmShape> list,
                  int threads) {
  auto native = gemm::make_native_provider();
  if (native->set_threads(threads) != threads) {
    state.SkipWithError("native provider runs fewer threads than asked");
    return;
  }
  blas->set_threads(threads);
  std::mt19937 rng(7);
  std::vector<ShapeOperands> shapes;
  for (const GemmShape& s : list) shapes.emplace_back(s, rng);
  const bool detail = std::getenv("LIBSCOUT_VERSUS_DETAIL") != nullptr;
  for (auto _ : state) {
    const Timings t = run_rounds(shapes, *native, *blas);
    report(state, shapes, t, detail);
  }
  state.SetLabel(native->version());
}

}  // namespace

void register_versus_openblas(const OpenBlas* blas) {
  struct Set {
    std::string name;
    std::vector<GemmShape> shapes;
  };
  std::vector<Set> sets;
  for (int n : {512, 1024}) sets.push_back({"square" + std::to_string(n), square_shapes({n})});
  for (const char* model : {"squeezenet1.1", "mobilenet_v1"}) {
    try {
      sets.push_back({model, model_gemm_shapes(model)});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "versus_openblas: %s left out: %s\n", model, e.what());
    }
  }
  for (int threads : {1, 2}) {
    for (const Set& set : sets) {
      const std::string name =
          "versus_openblas/" + set.name + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), bench_versus, blas, set.shapes, threads)
          ->Iterations(1)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace libscout::bench
