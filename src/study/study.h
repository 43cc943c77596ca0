// `libscout study`: the paper's whole study on this device. Plans the steps (the SGEMM sweep of
// every provider, every model on every backend at each thread count), runs each in its own child
// process with time and memory limits, appends each finished step to DIR/results.json atomically,
// resumes an interrupted study without repeating a step, and writes the report at the end.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::study {

struct StudyOptions {
  std::string out_dir = "results";
  std::vector<std::string> models = {"squeezenet1.1", "mobilenet_v1"};
  std::vector<std::string> backends;   // empty: every available backend
  std::vector<std::string> providers;  // empty: every available GEMM provider
  std::vector<int> threads;            // empty: 1 and all online cores
  std::string energy = "auto";         // auto | off
  std::string meter;                   // empty: auto-detected
  std::string baseline = "gemm:openblas";
  bool quick = false;
  bool resume = false;
  bool skip_gemm = false;
  double timeout_s = 0;                // 0: by step kind
  std::size_t memory_limit_mb = 0;     // 0: three quarters of physical memory
  std::vector<std::string> blas_libs;  // --blas-lib paths, passed on to the children
  std::vector<std::string> child_args;  // more arguments for every child (--cluster, --cpus)
  int cores = 0;                        // "all cores": 0 = every online CPU
};

// One measurement: its stable key (what --resume matches) and the command that performs it.
struct Step {
  std::string key;   // e.g. "run/mobilenet_v1/gemm:blis/t2", "gemm/openblas/t1"
  std::string kind;  // "run" | "gemm"
  std::string label;  // for progress lines
  std::vector<std::string> args;  // libscout arguments, without the executable
  std::string raw_file;           // where the child writes its JSON, relative to the study dir
  double estimate_s = 5;          // for the time-left estimate
  nlohmann::json identity;        // model/backend/threads or provider/threads, for failed rows
};

std::vector<Step> plan_study(const StudyOptions& opts);

// Runs (or resumes) the study; returns the number of steps that did not end "ok", or -1 when it
// was interrupted (what it finished is saved).
// Throws Error for bad options or when DIR holds a study and --resume was not given.
int run_study(const StudyOptions& opts);

}  // namespace libscout::study
