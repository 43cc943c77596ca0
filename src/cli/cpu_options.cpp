#include "cli/cpu_options.h"

#include "platform/topology.h"

namespace libscout::cli {

std::vector<std::string> CpuChoice::args() const {
  std::vector<std::string> out;
  if (!cluster.empty()) out.insert(out.end(), {"--cluster", cluster});
  if (!cpus.empty()) out.insert(out.end(), {"--cpus", cpus});
  return out;
}

void add_cpu_options(CLI::App* cmd, CpuChoice& choice) {
  cmd->add_option("--cluster", choice.cluster,
                  "Cores to run on: big, little, all, or a core name (a57, denver2)");
  cmd->add_option("--cpus", choice.cpus, "Cores to run on, as a CPU list: 0,3-5");
}

std::vector<int> apply_cpu_choice(const CpuChoice& choice) {
  if (!choice.given()) return platform::current_affinity();
  const platform::Topology topo = platform::detect_topology();
  const std::vector<int> cpus = platform::select_cpus(topo, choice.cluster, choice.cpus);
  platform::pin_process(cpus);
  return cpus;
}

}  // namespace libscout::cli
