// The power-meter interface: a meter measures the energy a device uses between start() and stop(),
// per rail (a supply the sensor sees: CPU package, DRAM, GPU, big or LITTLE cluster) and in total.
// Meters come in two kinds: counter meters read an energy counter at start and stop (RAPL, NVML on
// Volta and newer); sampled meters read instantaneous power on their own thread and integrate it
// with the trapezoidal rule (hwmon/INA3221, ODROID INA231, NVML on older GPUs, external logs).
// list_meters() lists every meter this build knows with whether it works here and why not;
// create_meter() opens one by name or picks the best one ("auto"). What each meter reads, and the
// measurement protocol built on them (energy.h), are described in src/power/README.md.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::power {

struct Rail {
  std::string name;
  // Whether this rail adds into the total. False for a rail that another rail already contains:
  // RAPL core/uncore inside package, Jetson VDD_CPU inside the module input VDD_IN.
  bool in_total = true;
};

// One reading of a sampled meter: seconds since start() and watts per rail, in rails() order.
struct PowerSample {
  double t_s = 0;
  std::vector<double> watts;
};

struct RailMeasurement {
  std::string name;
  bool in_total = true;
  double energy_j = 0;
  double avg_power_w = 0;
};

// What a meter saw between start() and stop().
struct Measurement {
  std::string meter;
  double duration_s = 0;   // between the first and the last reading, on the steady clock
  double energy_j = 0;     // sum over the rails with in_total
  double avg_power_w = 0;  // energy_j / duration_s
  std::vector<RailMeasurement> rails;
  std::vector<PowerSample> samples;  // sampled meters only; empty for counter meters
};

// Builds a Measurement from per-rail energies (rails and energy_j in the same order).
Measurement make_measurement(const std::string& meter, const std::vector<Rail>& rails,
                             const std::vector<double>& energy_j, double duration_s);

// Which device's consumption a meter sees: RAPL the CPU package (and DRAM), NVML the GPU board,
// the board's own rail sensors (INA231, INA3221 on Jetsons) and an external meter the whole board.
enum class Coverage { kCpu, kGpu, kBoard };
const char* coverage_name(Coverage c);
// Whether a meter of this coverage sees the work of a backend running on `device` ("cpu" or
// "gpu"): a GPU rail cannot measure a CPU run, a CPU package cannot measure a GPU run.
bool sees_device(Coverage c, const std::string& device);

class Meter {
 public:
  virtual ~Meter() = default;
  virtual std::string name() const = 0;
  virtual Coverage covers() const { return Coverage::kBoard; }
  // What is read and how ("RAPL powercap counters, read at start and stop", the sensor paths).
  virtual std::string description() const = 0;
  virtual const std::vector<Rail>& rails() const = 0;
  // start() begins a window; stop() ends it and returns what it measured. A meter measures one
  // window at a time and can be started again after stop(). Both throw libscout::Error when the
  // sensor cannot be read.
  virtual void start() = 0;
  virtual Measurement stop() = 0;
};

struct MeterOptions {
  // Rate of the sampling thread of sampled meters; a sensor that updates less often than this is
  // read at its own update interval instead.
  double sample_hz = 100.0;  // --sample-hz
  // External logs: how long stop() waits for the log to reach the end of the window.
  double external_wait_s = 5.0;
  // NVML: sample nvmlDeviceGetPowerUsage even where the GPU has a total-energy counter (to
  // compare the two; the counter is the better figure).
  bool nvml_power_sampling = false;
};

// One meter as discovery found it.
struct MeterInfo {
  std::string name;
  bool available = false;
  std::string reason;       // why it is not available (empty when available)
  std::string description;  // what it reads, when available
  std::vector<Rail> rails;
};

// Every meter this build knows (rapl, nvml, hwmon, ina231, external, none), in the order "auto"
// prefers them, each with available or the reason it is not.
std::vector<MeterInfo> list_meters(const MeterOptions& options = {});

// Opens a meter from a spec: "auto" (the first available of ina231, hwmon board rails, rapl, other
// hwmon sensors, nvml; the "none" meter, saying why, when there is none), a meter name (rapl,
// nvml, hwmon, ina231), "external:PATH" for a log file, or "none". Throws libscout::Unavailable
// with the reason when a named meter does not work here, libscout::Error for an unknown name.
// With `device` ("cpu" or "gpu": where the measured backend runs), "auto" only picks a meter that
// sees that device (NVML first for a GPU run; never NVML for a CPU run) and otherwise returns the
// "none" meter saying why.
std::unique_ptr<Meter> create_meter(const std::string& name, const MeterOptions& options = {},
                                    const std::string& device = "cpu");

// True when the meter measures something (false for "none").
inline bool measures_energy(const Meter& meter) { return !meter.rails().empty(); }

nlohmann::json to_json(const MeterInfo& info);

}  // namespace libscout::power
