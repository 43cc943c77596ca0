// The `device` block of every JSON result: what machine, OS and compiler produced it.
#pragma once

#include <nlohmann/json.hpp>

namespace libscout {

nlohmann::json device_json();

// The 1-minute load average (/proc/loadavg), -1 when unknown.
double load_average();
// How many cores' worth of CPU time the whole machine used over `seconds` (/proc/stat); -1 when
// unknown. Called while libscout is idle, it is the load of other work.
double busy_cores(double seconds);
// A warning when other work keeps half a core or more busy (`busy` from busy_cores()), else "".
std::string busy_machine_warning(double busy);

}  // namespace libscout
