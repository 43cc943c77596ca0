// Inside the power module: one probe per meter kind. A probe looks for its sensors under the
// sysfs root (or loads its library) and returns a ready meter, or the reason there is none in
// words a user can act on. list_meters() and create_meter() (registry.cpp) are built on these.
#pragma once

#include <memory>
#include <string>

#include "power/meter.h"

namespace libscout::power {

struct Probe {
  std::unique_ptr<Meter> meter;  // null when the meter is not available
  std::string reason;            // why not, when meter is null
  // The sensors measure the board's own supply rails (INA3221, INA231): preferred by "auto".
  bool board_rails = false;
};

Probe probe_rapl(const MeterOptions& options);
Probe probe_nvml(const MeterOptions& options);
Probe probe_hwmon(const MeterOptions& options);
// enable_sensors: write 1 to each sensor's `enable` (create_meter does; discovery only looks).
Probe probe_ina231(const MeterOptions& options, bool enable_sensors);
// log_path empty: the path is taken from LIBSCOUT_EXTERNAL_LOG, or the probe says how to give one.
Probe probe_external(const std::string& log_path, const MeterOptions& options);

std::unique_ptr<Meter> make_none_meter(std::string why);

}  // namespace libscout::power
