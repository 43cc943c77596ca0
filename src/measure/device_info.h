// The `device` block of every JSON result: what machine, OS and compiler produced it.
#pragma once

#include <nlohmann/json.hpp>

namespace libscout {

nlohmann::json device_json();

// How the CPUs this process may run on are set up, for a result's `method`:
//   {"cpu_governor": "performance" (distinct governors joined with ","; null without cpufreq),
//    "smt_siblings_used": true when two of those CPUs are hardware threads of one core (null
//    when the topology files are missing), "physical_cores": cores among them (null unknown)}.
// Reads $LIBSCOUT_SYSFS_ROOT/devices/system/cpu (default /sys).
nlohmann::json cpu_setup_json();

// The 1-minute load average (/proc/loadavg), -1 when unknown.
double load_average();
// How many cores' worth of CPU time the whole machine used over `seconds` (/proc/stat); -1 when
// unknown. Called while libscout is idle, it is the load of other work.
double busy_cores(double seconds);
// A warning when other work keeps half a core or more busy (`busy` from busy_cores()), else "".
std::string busy_machine_warning(double busy);

}  // namespace libscout
