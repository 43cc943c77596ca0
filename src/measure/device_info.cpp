#include "measure/device_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>
#include <thread>
#include <fstream>
#include <string>

#include "core/error.h"
#include "platform/topology.h"

namespace libscout {

namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    for (const char* key : {"model name", "Hardware", "Processor"}) {
      if (line.rfind(key, 0) == 0) {
        auto colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
      }
    }
  }
  return "unknown";
}

}  // namespace

double load_average() {
  double load = -1;
  std::ifstream f("/proc/loadavg");
  if (!(f >> load)) return -1;
  return load;
}

namespace {

// Busy and total jiffies of all CPUs, from the first line of /proc/stat.
bool cpu_jiffies(unsigned long long& busy, unsigned long long& total) {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long v[8] = {};
  if (!(f >> cpu) || cpu != "cpu") return false;
  for (auto& x : v) {
    if (!(f >> x)) return false;
  }
  // user nice system idle iowait irq softirq steal
  total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  busy = total - v[3] - v[4];
  return true;
}

}  // namespace

double busy_cores(double seconds) {
  unsigned long long b0, t0, b1, t1;
  if (!cpu_jiffies(b0, t0)) return -1;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  if (!cpu_jiffies(b1, t1) || t1 <= t0) return -1;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<double>(b1 - b0) / static_cast<double>(t1 - t0) * static_cast<double>(cores);
}

std::string busy_machine_warning(double busy) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (busy < 0.5) return {};
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "other work keeps %.1f of %ld cores busy: timings will be slower and noisier "
                "than on an idle machine, multi-threaded ones above all",
                busy, cores);
  return buf;
}

namespace {

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

nlohmann::json cpu_setup_json() {
  const char* root = std::getenv("LIBSCOUT_SYSFS_ROOT");
  const std::string cpu_dir =
      std::string(root != nullptr && *root != '\0' ? root : "/sys") + "/devices/system/cpu/cpu";
  std::set<std::string> governors;
  std::set<std::pair<std::string, std::string>> cores;  // (package, core id)
  bool topology_known = true;
  const std::vector<int> cpus = platform::current_affinity();
  for (int cpu : cpus) {
    const std::string dir = cpu_dir + std::to_string(cpu);
    if (std::string g = first_line(dir + "/cpufreq/scaling_governor"); !g.empty()) {
      governors.insert(g);
    }
    const std::string package = first_line(dir + "/topology/physical_package_id");
    const std::string core = first_line(dir + "/topology/core_id");
    if (core.empty()) topology_known = false;
    cores.insert({package, core});
  }
  std::string governor;
  for (const std::string& g : governors) governor += (governor.empty() ? "" : ",") + g;
  nlohmann::json j = {{"cpu_governor", governor.empty() ? nlohmann::json() : nlohmann::json(governor)},
                      {"smt_siblings_used", nullptr},
                      {"physical_cores", nullptr}};
  if (topology_known && !cpus.empty()) {
    j["smt_siblings_used"] = cores.size() < cpus.size();
    j["physical_cores"] = cores.size();
  }
  return j;
}

nlohmann::json device_json() {
  utsname u{};
  uname(&u);
  nlohmann::json j = {{"cpu_model", cpu_model()},
                      {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
                      {"os", std::string(u.sysname) + " " + u.release},
                      {"architecture", u.machine},
                      {"compiler", std::string("g++ ") + __VERSION__},
                      {"load_average_1m", load_average()}};
  // Board, clusters, and the cores this process may run on (after --cluster / --cpus pinning).
  try {
    const platform::Topology topo = platform::detect_topology();
    const nlohmann::json topology = platform::topology_json(topo, platform::current_affinity());
    for (const auto& [key, value] : topology.items()) j[key] = value;
  } catch (const Error& e) {
    j["topology_error"] = e.what();
  }
  return j;
}

}  // namespace libscout
