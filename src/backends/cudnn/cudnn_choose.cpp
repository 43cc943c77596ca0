#include "backends/cudnn/cudnn_choose.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cuda/cuda_graph.h"

namespace libscout::cudnn {

namespace {

// Candidates of one layer are measured for at most this long (the fastest so far is kept).
constexpr double kLayerBudgetSeconds = 4.0;

std::string format_us(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f us", us);
  return buf;
}

std::string format_error(double e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", e);
  return buf;
}

}  // namespace

Chooser::Chooser(Library& lib, Workspace& workspace, bool use_graph, double tolerance)
    : lib_(lib), workspace_(workspace), use_graph_(use_graph), tolerance_(tolerance), error_(2) {}

double Chooser::error_against_check(const DeviceView& out) {
  const cudaStream_t s = stream_.get();
  check(cudaMemsetAsync(error_.get(), 0, 2 * sizeof(double), s), "cudaMemsetAsync");
  DeviceView ref = out;
  ref.base = check_.get();
  ref.batch_stride = out.image_elements();
  accumulate_error(out, ref, error_.get(), s);
  double host[2] = {0, 0};
  check(cudaMemcpyAsync(host, error_.get(), sizeof host, cudaMemcpyDeviceToHost, s),
        "cudaMemcpyAsync");
  stream_.synchronize();
  if (host[1] == 0) return host[0] == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(host[0] / host[1]);
}

double Chooser::once_us(const Candidate& c) {
  cuda::Event start, stop;
  const Exec e{&lib_, stream_.get(), &workspace_};
  start.record(stream_.get());
  c.run(e);
  stop.record(stream_.get());
  stream_.synchronize();
  return cuda::elapsed_ms(start, stop) * 1e3;
}

// kReps-like repetitions sized from one eager run, so that a timed launch lasts a few hundred
// microseconds; the best of three launches after a warm-up.
double Chooser::time_us(const Candidate& c, double once) {
  const int reps = std::clamp(static_cast<int>(300.0 / std::max(1.0, once)), 3, 30);
  cuda::ReplayableWork work(
      [&](cudaStream_t s) {
        lib_.bind(s);
        const Exec ex{&lib_, s, &workspace_};
        for (int r = 0; r < reps; ++r) c.run(ex);
      },
      use_graph_);
  work.run_and_wait();  // warm-up
  double best_ms = std::numeric_limits<double>::infinity();
  for (int t = 0; t < 3; ++t) best_ms = std::min(best_ms, work.run_and_wait());
  lib_.bind(stream_.get());
  return best_ms * 1e3 / reps;
}

Choice Chooser::choose(std::vector<Candidate> candidates, std::span<const DeviceView> inputs,
                       const DeviceView& out, std::uint32_t seed) {
  const cudaStream_t s = stream_.get();
  lib_.bind(s);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    fill_uniform(inputs[i], seed + static_cast<std::uint32_t>(i) * 7919U, s);
  }
  const Exec e{&lib_, s, &workspace_};
  struct Tried {
    std::string name;
    double us;
  };
  std::vector<Tried> timed;
  std::vector<std::string> rejected;
  std::string check_name;
  Choice best;
  best.device_us = std::numeric_limits<double>::infinity();
  const auto started = std::chrono::steady_clock::now();
  for (Candidate& c : candidates) {
    const double spent_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (best.run && spent_s > kLayerBudgetSeconds) {
      rejected.push_back(c.name + " (not tried: this layer's " +
                         std::to_string(int(kLayerBudgetSeconds)) + " s of prepare time are spent)");
      continue;
    }
    if (c.workspace > workspace_.bytes()) {
      rejected.push_back(c.name + " (rejected: needs " + mib(c.workspace) +
                         " of workspace, over the limit of " + mib(workspace_.bytes()) + ")");
      continue;
    }
    try {
      c.run(e);
      stream_.synchronize();
      if (check_name.empty()) {
        check_.resize(static_cast<std::size_t>(out.elements()));
        check(cudaMemcpy2DAsync(check_.get(), out.image_elements() * sizeof(float), out.base,
                                out.batch_stride * sizeof(float),
                                out.image_elements() * sizeof(float), out.n,
                                cudaMemcpyDeviceToDevice, s),
              "cudaMemcpy2DAsync");
        stream_.synchronize();
        check_name = c.name;
      } else if (const double err = error_against_check(out); !(err <= tolerance_)) {
        rejected.push_back(c.name + " (rejected: differs from " + check_name +
                           " by a relative L2 error of " + format_error(err) + ")");
        continue;
      }
      // An eager run far slower than the best so far is not worth timing properly.
      const double once = once_us(c);
      if (best.run && once > 3 * best.device_us + 20) {
        rejected.push_back(c.name + " (not timed: one eager run took " + format_us(once) + ")");
        continue;
      }
      const double us = time_us(c, once);
      timed.push_back({c.name, us});
      if (us < best.device_us) {
        best.name = c.name;
        best.workspace = c.workspace;
        best.run = c.run;
        best.device_us = us;
      }
    } catch (const Error& ex) {
      cudaGetLastError();  // a failed launch leaves its error behind
      cudaStreamSynchronize(s);
      lib_.bind(s);
      rejected.push_back(c.name + " (rejected: " + ex.what() + ")");
    }
  }
  std::string report;
  for (const Tried& t : timed) {
    report += (report.empty() ? "" : "; ") + t.name + " " + format_us(t.us) +
              (t.name == best.name ? " [chosen]" : "");
  }
  for (const std::string& r : rejected) report += "; " + r;
  if (!best.run) throw Error("no way of running it worked: " + report);
  best.report = report;
  if (verbose()) {
    std::fprintf(stderr, "[cudnn] %zu candidates in %.0f ms: %s\n", candidates.size(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                           started).count(),
                 report.c_str());
  }
  return best;
}

}  // namespace libscout::cudnn
