// The SGEMM experiment (the paper's Fig. 3): throughput of every GEMM provider over a list of
// matrix shapes, each (provider, shape) validated before it is timed.
//
// Method, per provider and shape (C := A * B, row-major, alpha 1, beta 0, operands uniform in
// [-1, 1) from a fixed seed, C filled with NaN before the validated call so that a provider that
// reads C under beta == 0 fails):
//   1. validate one call: for m*n*k up to `exact_check_macs`, every element of C against a
//      double-precision product (relative L2 error); above it, the random-vector projection check
//      of BLIS's test suite: || C t - A (B t) || / || A (B t) || for a random vector t, computed in
//      double (O(n^2) work for an O(n^3) product). Non-finite values in C fail either way.
//      A provider that fails is reported failed and never timed or ranked;
//   2. `warmup` untimed calls, then timed calls (std::chrono::steady_clock around each sgemm call)
//      until `min_time_s` has passed and at least `min_iterations` were made;
//   3. GFLOPS = 2 m n k / median time. For providers whose operands live in device memory
//      (has_device_memory()), `gflops` is the rate of the device computation alone, as the provider
//      reports it through DeviceComputeTimer, and `gflops_with_transfer` the rate of the whole call
//      including host-device copies.
// A provider whose previous shape took so long that this one would need more than
// `max_seconds_per_call` per call is skipped for it (the textbook loop at 2048^3 takes minutes).
// Providers whose operands live on a GPU (Provider::operands_on_gpu()) are measured on `shapes`
// and then on `gpu_shapes` (by default the larger sizes up to 8192 that a GPU needs to reach its
// rate). A provider that throws anywhere (creation, version(), set_threads(), any sgemm call) or
// runs out of host or device memory gets a "failed" result with the reason, and the sweep goes on.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemm/gemm_provider.h"
#include "measure/stats.h"

namespace libscout {

// Optional second interface of a Provider with device memory: the time its last sgemm() call
// spent computing on the device, without the host-device transfers. The sweep finds it with
// dynamic_cast (the type lives in libscout_core, so plugins share it).
class DeviceComputeTimer {
 public:
  virtual ~DeviceComputeTimer();
  virtual double last_compute_seconds() const = 0;
};

struct GemmShape {
  int m = 0, n = 0, k = 0;
  gemm::Trans trans_a = gemm::Trans::kNo, trans_b = gemm::Trans::kNo;
  int calls = 0;      // with --shapes MODEL: sgemm calls of this shape per inference; else 0
  std::string where;  // with --shapes MODEL: the first layer that produces it; else empty
  double flops() const { return 2.0 * m * n * k; }
  std::string str() const;  // "256x256x256", "1x1000x1024 (B^T)"
};

// Square shapes n x n x n.
std::vector<GemmShape> square_shapes(const std::vector<int>& sizes);
// The default sweep: 32 to 2048, powers of two and the sizes halfway between them.
std::vector<int> default_square_sizes();
// What the default sweep adds for providers whose operands live on a GPU: 3072 to 8192.
std::vector<int> default_gpu_square_sizes();
// The distinct SGEMM shapes the Caffe-style `gemm:` backends issue for one inference of a model of
// the zoo (at batch 1 and the model's default options), in order of first use. Found by running the
// model once on a provider that records its calls.
std::vector<GemmShape> model_gemm_shapes(const std::string& model);

struct GemmSweepOptions {
  std::vector<std::string> providers;  // names of list_providers(); empty: every available one
  std::vector<GemmShape> shapes;
  std::vector<GemmShape> gpu_shapes;  // measured after `shapes` on providers with GPU operands
  int threads = 1;
  int warmup = 2;
  double min_time_s = 0.5;
  int min_iterations = 3;
  double max_seconds_per_call = 5.0;
  double exact_check_macs = 256.0 * 256 * 256;
  double tolerance = 1e-4;  // bound on the relative error of either check
  // Called before each (provider, shape) with a one-line description ("openblas 512x512x512");
  // the command line prints it on stderr.
  std::function<void(const std::string&)> progress;
};

struct GemmValidation {
  bool passed = false;
  std::string method;  // "exact" or "projection"
  double rel_error = 0;
  double tolerance = 0;
};

struct GemmResult {
  std::string provider, version;
  GemmShape shape;
  int threads = 1;  // as the provider reported from set_threads
  // "ok" (validated and timed), "failed" (validation failed, or the provider threw or ran out of
  // memory: not timed),
  // "skipped" (too slow at a smaller shape), "unavailable" (the provider does not load here).
  std::string status;
  std::string reason;  // why not "ok"
  GemmValidation validation;
  int warmup = 0, iterations = 0;
  Summary time_ms;                             // whole sgemm() calls
  double gflops = 0;                           // compute only for device-memory providers
  std::optional<double> gflops_with_transfer;  // device-memory providers only
  std::optional<Summary> compute_time_ms;      // device-memory providers that report it
  bool ok() const { return status == "ok"; }
};

// Runs the sweep. Throws Error only for an unknown provider name; every per-provider problem is a
// result with its status and reason.
std::vector<GemmResult> run_gemm_sweep(const GemmSweepOptions& opts);

// The same sweep over providers that `make` creates from the names in opts.providers (which must
// not be empty): how tests sweep providers that are not registered. `make` throws Unavailable for
// a provider that cannot run here (its shapes are "unavailable"); anything else it throws makes
// them "failed".
using ProviderMaker = std::function<std::unique_ptr<gemm::Provider>(const std::string&)>;
std::vector<GemmResult> run_gemm_sweep(const GemmSweepOptions& opts, const ProviderMaker& make);

// Validates and times one provider on one shape (steps 1-3 above), on operands it allocates.
// Throws Error only for a shape with a dimension below 1; a provider that throws gives a "failed"
// result that names the stage ("a timed sgemm call threw: ...").
GemmResult measure_gemm(gemm::Provider& provider, const GemmShape& shape,
                        const GemmSweepOptions& opts);

// One element of the libscout.gemm/1 "results" array.
nlohmann::json gemm_result_json(const GemmResult& r);

}  // namespace libscout
