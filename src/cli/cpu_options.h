// --cluster and --cpus, shared by the commands that measure: which cores a run may use. The
// process is pinned before any library starts its threads, which inherit the mask; results record
// the cores and cluster used (device.cores_used, device.cluster_used).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace libscout::cli {

struct CpuChoice {
  std::string cluster;  // big, little, all, a cluster or core name (a57, denver2); "" = not given
  std::string cpus;     // kernel CPU list, "0,3-5"; "" = not given
  bool given() const { return !cluster.empty() || !cpus.empty(); }
  // The arguments that pass the same choice on to a child libscout.
  std::vector<std::string> args() const;
};

void add_cpu_options(CLI::App* cmd, CpuChoice& choice);

// Pins the process to the chosen CPUs when a choice was given; returns the CPUs the run uses
// (every CPU it may run on when none was given). Throws Error for a bad choice.
std::vector<int> apply_cpu_choice(const CpuChoice& choice);

}  // namespace libscout::cli
