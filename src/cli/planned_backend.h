// `--backend auto`: a per-layer plan, read from a file or made before the run.
#pragma once

#include <string>

#include "measure/model_benchmark.h"
#include "placement/planner.h"

namespace libscout::cli {

// Fills b.layer_backends (and b.plan_source) from the plan file, or, when `plan_path` is empty,
// from a plan made now for b's model, threads and options. Warns when the plan was measured on
// another CPU, at another thread count or input shape, or with other library versions; throws
// Error for a malformed plan or one made for another model.
void resolve_planned_backend(BenchmarkOptions& b, const std::string& plan_path);

// A mix runs OpenMP libraries (oneDNN, Eigen) next to pthreadpool (XNNPACK, native) and
// OpenBLAS threads; an OpenMP runtime that spins after its parallel regions by default then runs
// against the next segment's threads. libgomp reads OMP_WAIT_POLICY when it loads, before main:
// at more than one thread, when it is not set, this starts libscout again (the same executable
// and arguments, /proc/self) with OMP_WAIT_POLICY=PASSIVE; where that fails it says so and goes
// on. It also sets OPENBLAS_THREAD_TIMEOUT=4 when unset (OpenBLAS's workers then sleep after a
// call instead of spinning for 2^28 cycles). XNNPACK's segments put their workers to sleep
// themselves; native's pool never spins. Call it before any work or output.
void quiet_idle_threads_for_a_mix(int threads);

// The plan's contenders, what was left out, and what the mix gained, for a person.
void print_plan_summary(const placement::Plan& plan);

}  // namespace libscout::cli
