// Runs one measurement in its own process, so that a library that crashes, hangs or runs out of
// memory takes only that measurement down. Limits: wall time (the child's process group is killed
// when it passes) and real memory (memory_limit.h: a cgroup's memory.max, else resident-size
// polling; not address space, which the CUDA runtime and sanitizers reserve by the terabyte).
#pragma once

#include <string>
#include <vector>

namespace libscout::study {

struct ChildLimits {
  double timeout_s = 300;
  std::size_t memory_mb = 0;  // 0: no limit
};

struct ChildResult {
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  bool timed_out = false;
  bool out_of_memory = false;  // the memory limit ended it
  std::string memory_limit;    // "4096 MB (cgroup memory.max)", empty without a limit
  bool interrupted = false;  // the study was interrupted (Ctrl-C) and killed it
  double wall_s = 0;
  std::string stderr_tail;  // its last lines of standard error

  bool ok() const { return !interrupted && !timed_out && signal == 0 && exit_code == 0; }
  // One line saying how it ended, for the results' "reason".
  std::string describe() const;
};

// Runs `argv` (argv[0] is a path) with the limits, in this process's environment with the
// NAME=VALUE entries of `env` set (replacing a variable of the same name). Standard output goes
// to /dev/null; standard error is kept (its tail) and, with `echo_stderr`, passed through.
// Throws Error when the process cannot be started at all.
ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits,
                      const std::vector<std::string>& env = {}, bool echo_stderr = false);

// SIGINT / SIGTERM set a flag instead of ending the process; run_child() then kills the running
// child and returns, so the caller can save what it has and stop.
void install_interrupt_handler();
bool interrupted();

// Path of the running executable (/proc/self/exe), to re-run libscout itself as the child.
std::string self_executable();

}  // namespace libscout::study
