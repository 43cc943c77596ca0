// CPU topology of the machine a run measures: which cores it has, how they group into clusters
// of one core type and speed (big.LITTLE), what the board is, and the choice of cores for a run
// (`--cluster big|little|all|<core name>`, `--cpus LIST`) with the pinning that applies it.
//
// Where it reads (the roots can be moved, so a recorded tree stands in for a board):
//   LIBSCOUT_SYSFS_ROOT (default /sys):
//     devices/system/cpu/{possible,online}
//     devices/system/cpu/cpuN/cpu_capacity                (kernels with arch_topology, 4.10+)
//     devices/system/cpu/cpuN/cpufreq/cpuinfo_max_freq    (kHz)
//     devices/system/cpu/cpuN/topology/{physical_package_id,cluster_id}
//     firmware/devicetree/base/model                      (second place for the board model)
//   LIBSCOUT_PROCFS_ROOT (default /proc):
//     cpuinfo                 per-processor "CPU implementer" / "CPU part" (ARM), "model name"
//     device-tree/model       the board model (on a live system a link into /sys/firmware)
// The device tree is looked for under the procfs root first, as users know it
// (/proc/device-tree/model), then under the sysfs root.
//
// On the live system (neither root moved) and when libscout is built with pytorch's cpuinfo
// library, that library fills in what the files leave out: the MIDR of CPUs that /proc/cpuinfo
// does not list one by one (old 32-bit kernels print one block for all) and the SoC's name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::platform {

// One logical CPU as the kernel describes it.
struct Core {
  int cpu = 0;
  std::string core_name;                    // "Cortex-A53", "Denver2", x86 model name, "unknown"
  std::optional<int> implementer;           // ARM MIDR implementer (0x41 Arm, 0x4e Nvidia, ...)
  std::optional<int> part;                  // ARM MIDR part number (0xd03 for Cortex-A53)
  std::optional<std::int64_t> max_freq_khz; // cpufreq cpuinfo_max_freq
  std::optional<int> capacity;              // cpu_capacity, 1024 for the fastest core type
  std::optional<int> package_id;            // topology/physical_package_id
  std::optional<int> cluster_id;            // topology/cluster_id (kernels 5.16+)
};

// Online CPUs of one core type and speed (same core name, capacity and maximum frequency).
struct Cluster {
  // By speed, slowest first: "all" when there is only one cluster; "little" and "big" for two;
  // "little", "mid", "big" for three; "little", "mid1", "mid2", ..., "big" beyond.
  std::string name;
  std::string core_name;
  std::vector<int> cpus;                    // ascending
  std::optional<std::int64_t> max_freq_khz;
  std::optional<int> capacity;
};

struct Topology {
  std::string architecture;  // "aarch64", "armv7l", "x86_64", ...
  std::string board;         // device-tree model ("Raspberry Pi 3 Model B Rev 1.2"); "" unknown
  std::string soc;           // SoC / package name from the cpuinfo library (live only); "" unknown
  std::vector<int> possible;
  std::vector<int> online;
  std::vector<Core> cores;        // the online CPUs, ascending
  std::vector<Cluster> clusters;  // slowest first, so clusters.back() is the fastest
  // What ordered the clusters: "cpu_capacity", "cpuinfo_max_freq" or "core type" (a table of
  // known cores, when the kernel gives neither or they are equal, as on the Jetson TX2).
  std::string ordered_by;
};

// Reads the topology (see the top of this file for the files). Throws libscout::Error when the
// files exist but cannot be understood (a malformed CPU list); missing files leave fields unknown.
// With no sysfs CPU information at all, the CPUs the process may run on form one cluster.
Topology detect_topology();

// The CPUs a run uses, from the command line's --cluster and --cpus (empty string_view: not
// given). Neither given: every online CPU. --cluster takes "all", "big" (the fastest cluster;
// every CPU on a system with one core type), "little" (the slowest), a cluster's name ("mid"),
// or a core name matched without case and without the "Cortex-" prefix ("a57", "Cortex-A57",
// "denver2"). --cpus takes a kernel CPU list ("0,3-5"); every CPU in it must be online. Both
// given: the CPUs of the list that are in the cluster. Throws libscout::Error with a one-line
// reason (unknown cluster, malformed list, CPU not online, empty choice).
std::vector<int> select_cpus(const Topology& topology, std::string_view cluster,
                             std::string_view cpus);

// Pins the calling thread to `cpus` (sched_setaffinity). Threads it creates later inherit the
// mask. Throws libscout::Error naming the CPUs and the reason when the kernel refuses.
void pin_current_thread(const std::vector<int>& cpus);

// Pins every thread the process has now (each task of /proc/self/task) and, through
// inheritance, every thread created later: call it before the libraries start their thread
// pools, or re-call it after. Throws libscout::Error when the kernel refuses.
void pin_process(const std::vector<int>& cpus);

// The CPUs the calling thread may run on now (sched_getaffinity), ascending.
std::vector<int> current_affinity();

// Which clusters `used` covers, for results: "all" when it is every online CPU, a cluster's name
// when it lies within that cluster, else the covered clusters' names joined by '+'
// ("little+big"); "" when used is empty.
std::string cluster_used(const Topology& topology, const std::vector<int>& used);

// The topology part of the `device` block of a result:
//   {"architecture", "board", "soc", "cpus_online": "0-5",
//    "clusters": [{"name", "core_name", "cpus": [..], "max_freq_khz", "capacity"}],
//    "clusters_ordered_by", "cores_used": [..], "cluster_used"}
// Unknown values are null.
nlohmann::json topology_json(const Topology& topology, const std::vector<int>& used);

// "Cortex-A53" for (0x41, 0xd03); "Denver2" for (0x4e, 0x003); "" for a pair not in the table.
std::string arm_core_name(int implementer, int part);

}  // namespace libscout::platform
