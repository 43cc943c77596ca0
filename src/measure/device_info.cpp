#include "measure/device_info.h"

#include <sys/utsname.h>
#include <unistd.h>

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

nlohmann::json device_json() {
  utsname u{};
  uname(&u);
  nlohmann::json j = {{"cpu_model", cpu_model()},
                      {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
                      {"os", std::string(u.sysname) + " " + u.release},
                      {"architecture", u.machine},
                      {"compiler", std::string("g++ ") + __VERSION__}};
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
