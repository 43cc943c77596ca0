// `libscout study`: the paper's whole study on this device. Plans the steps (the SGEMM sweep of
// every provider, then every model on every backend at each thread count, in R rounds whose order
// is shuffled), runs each in its own child process with time and memory limits, appends each
// finished step to DIR/results.json atomically, resumes an interrupted study without repeating a
// step, and writes the report at the end.
//
// `auto` (a per-layer plan mixing the CPU backends, src/placement/) is a contender at each thread
// count: one plan step per (model, threads), before the rounds, writes DIR/plans/<model>-t<N>.json
// (`libscout plan`), and the row "run/<model>/auto/t<N>" runs it in every round. Plan steps and
// `auto` rows run with OMP_WAIT_POLICY=PASSIVE, so that an idle OpenMP runtime sleeps while
// another library's segment runs; the other rows run as the study's environment has it.
//
// Rounds: each (model, backend, threads) row is measured once per round, the rows in a seeded
// random order that differs per round, so that drift (a board heating up) and other work spread
// over all rows instead of hitting some; a row's figures pool its rounds (src/study/pooling.h).
// Thread counts a library cannot use (set_threads answers 1 for ATLAS) are not swept twice.
// Before each step the study waits, bounded, for other work to leave the CPUs; a round measured
// while other work kept them busy is measured again at the end when the machine is quieter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::study {

struct StudyOptions {
  std::string out_dir = "results";
  std::vector<std::string> models = {"squeezenet1.1", "mobilenet_v1"};
  // Empty or "all": every available backend, and `auto` when at least two CPU backends could be
  // planned over; a list names `auto` to include it.
  std::vector<std::string> backends;
  std::vector<std::string> providers;  // empty: every available GEMM provider
  std::vector<int> threads;            // empty: 1 and all online cores
  std::string energy = "auto";         // auto | off
  std::string meter;                   // empty: auto-detected
  std::string baseline = "gemm:openblas";
  bool quick = false;
  bool resume = false;
  bool skip_gemm = false;
  int rounds = 0;                      // 0: 3, or 1 with --quick
  int gpu_batch = 64;                  // GPU backends: the throughput batch, next to batch 1
  std::uint64_t seed = 1;              // of the round orders and the bootstrap
  double quiet_wait_s = -1;            // < 0: 5 s, or 0.5 s with --quick
  double timeout_s = 0;                // 0: by step kind
  std::size_t memory_limit_mb = 0;     // 0: three quarters of physical memory
  std::vector<std::string> blas_libs;  // --blas-lib paths, passed on to the children
  std::vector<std::string> child_args;  // more arguments for every child (--cluster, --cpus)
  int cores = 0;                        // "all cores": 0 = every online CPU
};

// One measurement: its stable key (what --resume matches) and the command that performs it.
struct Step {
  std::string key;   // e.g. "run/mobilenet_v1/gemm:blis/t2/r1", "gemm/openblas/t1", "plan/m/t2"
  std::string kind;  // "run" | "gemm" | "plan"
  std::string row;   // run steps: the row they measure, "run/mobilenet_v1/gemm:blis/t2"
  int round = 0;     // run steps: 1..rounds
  std::string label;  // for progress lines
  std::vector<std::string> args;  // libscout arguments, without the executable
  std::string raw_file;           // where the child writes its JSON, relative to the study dir
  // Plan steps and `auto` rows: the plan file (relative to the study dir; the plan step's
  // raw_file), and for `auto` rows the key of the plan step that writes it.
  std::string plan_file, plan_step;
  std::vector<std::string> env;   // NAME=VALUE set in the child's environment
  double estimate_s = 5;          // for the time-left estimate
  nlohmann::json identity;        // model/backend/threads or provider/threads, for failed rows
};

// What each GEMM provider answers to set_threads(n) for the requested counts
// (`libscout list --threads`): provider -> requested -> used. Providers missing from it are
// swept at every count.
using ThreadAnswers = std::map<std::string, std::map<int, int>>;

struct StudyPlan {
  std::vector<Step> steps;
  nlohmann::json config;       // the options that decide what is measured (compared on --resume)
  nlohmann::json method;       // how it is measured
  nlohmann::json round_order;  // per round, the row keys in order
  nlohmann::json not_swept;    // thread counts left out, with why
};

// Throws Error for unknown models, backends or providers and bad thread counts.
StudyPlan plan_study(const StudyOptions& opts, const ThreadAnswers& answers = {});

// Runs (or resumes) the study; returns the number of steps that did not end "ok", or -1 when it
// was interrupted (what it finished is saved).
// Throws Error for bad options, when DIR holds a study and --resume was not given, and when
// --resume is given with options that differ from the saved study's (naming each difference).
int run_study(const StudyOptions& opts);

}  // namespace libscout::study
