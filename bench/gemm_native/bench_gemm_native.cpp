// Google Benchmark of libscout's native SGEMM against OpenBLAS, square sizes, 1 and 2 threads:
//   native/<size>/threads:<t>                 the `native` provider (best kernel, real blocks)
//   native_ukernel_<kernel>/<size>             the framework with each supported kernel, 1 thread
//   openblas/<size>/threads:<t>               cblas_sgemm of OpenBLAS, when the build found it
//   harness_fidelity/openblas/<size>          the GFLOPS `libscout gemm` reports for OpenBLAS
//                                             (measure_gemm) beside a direct cblas_sgemm loop's
//                                             median in the same process; ratio should be ~1
//   versus_openblas/<shapes>/threads:<t>      native and OpenBLAS interleaved call by call on
//                                             square sizes and on CNN models' GEMM shapes: the
//                                             ratio to quote on a shared machine
// Counter FLOPS = 2 * M * N * K per iteration over real time. Operands are random and packed
// buffers warm: each benchmark runs one untimed call first.
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "gemm/native/native_provider.h"
#include "gemm/native/sgemm_native.h"
#include "measure/gemm_sweep.h"
#include "measure/stats.h"
#include "openblas_dlopen.h"
#include "versus_openblas.h"

namespace {

using libscout::gemm::SgemmArgs;
namespace native = libscout::gemm::native;
using libscout::bench::OpenBlas;

const int kSizes[] = {64, 128, 256, 512, 1024, 2048};

struct Operands {
  explicit Operands(int n) : a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto* x : {&a, &b})
      for (float& v : *x) v = dist(rng);
    args.m = args.n = args.k = n;
    args.a = a.data();
    args.b = b.data();
    args.c = c.data();
    args.lda = args.ldb = args.ldc = n;
  }
  std::vector<float> a, b, c;
  SgemmArgs args;
};

void set_flops(benchmark::State& state, int n) {
  state.counters["FLOPS"] = benchmark::Counter(2.0 * n * n * n,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void bench_native_provider(benchmark::State& state, int n, int threads) {
  auto provider = libscout::gemm::make_native_provider();
  const int used = provider->set_threads(threads);
  if (used != threads) state.SkipWithError("native provider runs fewer threads than asked");
  Operands op(n);
  provider->sgemm(op.args);
  for (auto _ : state) {
    provider->sgemm(op.args);
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
  state.SetLabel(provider->version());
}

void bench_native_ukernel(benchmark::State& state, const native::SgemmUkernel* kernel, int n) {
  native::ThreadPool pool(1);
  native::SgemmWorkspace workspace;
  const native::SgemmBlocking blocking = native::sgemm_blocking(*kernel);
  Operands op(n);
  native::sgemm_native(op.args, *kernel, blocking, pool, workspace);
  for (auto _ : state) {
    native::sgemm_native(op.args, *kernel, blocking, pool, workspace);
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

void bench_openblas(benchmark::State& state, const OpenBlas* blas, int n, int threads) {
  constexpr int kRowMajor = OpenBlas::kRowMajor, kNoTrans = OpenBlas::kNoTrans;
  blas->set_threads(threads);
  Operands op(n);
  auto call = [&] {
    blas->sgemm(kRowMajor, kNoTrans, kNoTrans, n, n, n, 1.0f, op.a.data(), n, op.b.data(), n,
                0.0f, op.c.data(), n);
  };
  call();
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

// One iteration: measure_gemm on the registry's `openblas` provider (the code behind `libscout
// gemm`), then the same number of direct cblas_sgemm calls, each timed with steady_clock; both
// quote the median. Counters: harness_GFLOPS, direct_GFLOPS and their ratio.
void bench_harness_fidelity(benchmark::State& state, const OpenBlas* blas, int n) {
  constexpr int kRowMajor = OpenBlas::kRowMajor, kNoTrans = OpenBlas::kNoTrans;
  std::unique_ptr<libscout::gemm::Provider> provider;
  try {
    provider = libscout::gemm::create_provider("openblas");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  libscout::GemmSweepOptions opts;
  opts.threads = 1;
  opts.min_time_s = 0.5;
  libscout::GemmShape shape;
  shape.m = shape.n = shape.k = n;
  Operands op(n);
  for (auto _ : state) {
    const libscout::GemmResult r = libscout::measure_gemm(*provider, shape, opts);
    if (!r.ok()) {
      state.SkipWithError(("openblas " + r.status + ": " + r.reason).c_str());
      return;
    }
    blas->set_threads(1);
    std::vector<double> ms;
    for (int i = 0; i < opts.warmup + r.iterations; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      blas->sgemm(kRowMajor, kNoTrans, kNoTrans, n, n, n, 1.0f, op.a.data(), n, op.b.data(), n,
                  0.0f, op.c.data(), n);
      const auto t1 = std::chrono::steady_clock::now();
      if (i >= opts.warmup) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    const double direct = 2.0 * n * n * n / (libscout::summarize(ms).median * 1e6);
    state.counters["harness_GFLOPS"] = r.gflops;
    state.counters["direct_GFLOPS"] = direct;
    state.counters["ratio"] = r.gflops / direct;
  }
}

void register_benchmarks() {
  const OpenBlas* openblas = OpenBlas::load();
  if (openblas == nullptr) std::fprintf(stderr, "OpenBLAS not found: its benchmarks are left out\n");
  for (int threads : {1, 2}) {
    for (int n : kSizes) {
      const std::string suffix = "/" + std::to_string(n) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("native" + suffix).c_str(), bench_native_provider, n, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      if (openblas != nullptr)
        benchmark::RegisterBenchmark(("openblas" + suffix).c_str(), bench_openblas, openblas, n,
                                     threads)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
  }
  if (openblas != nullptr) {
    for (int n : {256, 1024}) {
      benchmark::RegisterBenchmark(("harness_fidelity/openblas/" + std::to_string(n)).c_str(),
                                   bench_harness_fidelity, openblas, n)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
    libscout::bench::register_versus_openblas(openblas);
  }
  for (const auto& kernel : native::sgemm_ukernels()) {
    if (!kernel.is_supported()) continue;
    for (int n : kSizes) {
      const std::string name =
          "native_ukernel_" + std::string(kernel.name) + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), bench_native_ukernel, &kernel, n)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
