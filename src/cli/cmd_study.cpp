// `libscout study`: the paper's whole study on this device (src/study/study.h).
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/cpu_options.h"
#include "core/error.h"
#include "study/study.h"

namespace libscout::cli {

void add_study_command(CLI::App& app) {
  auto o = std::make_shared<study::StudyOptions>();
  auto lists = std::make_shared<std::map<std::string, std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "study", "Run the whole study on this device: SGEMM sweep, every model on every backend, "
               "energy; then write the report");
  cmd->add_option("--out,-o", o->out_dir, "Study directory")->capture_default_str();
  cmd->add_option("--models", (*lists)["models"], "Models, comma-separated")
      ->default_str("squeezenet1.1,mobilenet_v1");
  cmd->add_option("--backends", (*lists)["backends"], "Backends, comma-separated, or all")
      ->default_str("all");
  cmd->add_option("--providers", (*lists)["providers"], "GEMM providers, comma-separated, or all")
      ->default_str("all");
  cmd->add_option("--threads", (*lists)["threads"], "Thread counts, comma-separated")
      ->default_str("1,<online cores>");
  cmd->add_option("--energy", o->energy, "auto: measure energy where a meter exists; off")
      ->capture_default_str();
  cmd->add_option("--meter", o->meter, "Meter to use (libscout meters); default: detected");
  cmd->add_option("--baseline", o->baseline, "Backend the report compares against")
      ->capture_default_str();
  cmd->add_flag("--quick", o->quick, "Short timings, one round and a small SGEMM sweep (tests, "
                                     "demos)");
  cmd->add_option("--rounds", o->rounds,
                  "Rounds: every row measured once per round, rows shuffled per round (default 3; "
                  "1 with --quick)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--gpu-batch", o->gpu_batch,
                  "GPU backends: the throughput batch measured next to batch 1 (1: batch 1 only)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--seed", o->seed, "Seed of the round orders and the bootstrap intervals")
      ->capture_default_str();
  cmd->add_option("--quiet-wait", o->quiet_wait_s,
                  "Longest wait, seconds, for other work to leave the CPUs before a step (default "
                  "5; 0.5 with --quick; the whole study waits at most 10 times this)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_flag("--resume", o->resume, "Continue an interrupted study in --out");
  cmd->add_flag("--no-gemm", o->skip_gemm, "Leave out the SGEMM sweep");
  cmd->add_option("--timeout", o->timeout_s, "Time limit of each measurement, seconds")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--memory-limit", o->memory_limit_mb,
                  "Memory limit of each measurement, MiB (default: 3/4 of physical memory)");
  cmd->add_option("--blas-lib", o->blas_libs, "A CBLAS library by path, studied too");
  auto cpus = std::make_shared<CpuChoice>();
  add_cpu_options(cmd, *cpus);
  cmd->callback([o, lists, cpus] {
    study::StudyOptions opts = *o;
    // Pin the study too: its children inherit the mask, and "all cores" means the chosen ones.
    opts.cores = static_cast<int>(apply_cpu_choice(*cpus).size());
    opts.child_args = cpus->args();
    if (!(*lists)["models"].empty()) opts.models = split_list((*lists)["models"]);
    opts.backends = split_list((*lists)["backends"]);
    opts.providers = split_list((*lists)["providers"]);
    for (const std::string& t : split_list((*lists)["threads"])) {
      try {
        opts.threads.push_back(std::stoi(t));
      } catch (const std::exception&) {
        throw Error("--threads: '" + t + "' is not a number");
      }
    }
    if (study::run_study(opts) < 0) throw CLI::RuntimeError(130);  // interrupted
  });
}

}  // namespace libscout::cli
