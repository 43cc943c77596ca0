// ina231: the four TI INA231 sensors of the Hardkernel ODROID XU3 and XU4 (the board the paper
// measured), as Hardkernel's kernel (3.10 and 4.x) exposes them under
// /sys/bus/i2c/drivers/INA231/<bus>-<addr>/, the bus number differing between kernels (3- on
// 3.10, 0- on 4.14):
//   0x40 sensor_arm  the Cortex-A15 big cluster   -> rail "a15"
//   0x41 sensor_mem  the memory                    -> rail "mem"
//   0x44 sensor_g3d  the Mali GPU                  -> rail "gpu"
//   0x45 sensor_kfc  the Cortex-A7 LITTLE cluster  -> rail "a7"
// Each sensor directory has sensor_name, sensor_W / sensor_A / sensor_V (decimal "1.234567"),
// sensor_maxW / maxA / maxV, enable ("0" or "1"; write 1 before reading: a disabled sensor reads
// 0.000000) and update_period ("263808 usec": the sensor averages over that time and updates its
// reading once per period). The rail comes from sensor_name, or from the address when it is absent.
#include <algorithm>
#include <thread>

#include "core/error.h"
#include "power/probes.h"
#include "power/sampled_meter.h"
#include "power/sysfs.h"

namespace libscout::power {

namespace {

struct Ina231Sensor {
  fs::path dir;
  std::string rail;
};

class Ina231Meter final : public SampledMeter {
 public:
  Ina231Meter(std::vector<Ina231Sensor> sensors, std::vector<Rail> rails, double sample_hz,
              std::chrono::nanoseconds update)
      : SampledMeter(std::move(rails), sample_hz, update), sensors_(std::move(sensors)) {}
  ~Ina231Meter() override { halt(); }

  std::string name() const override { return "ina231"; }
  std::string description() const override {
    std::string text = "ODROID INA231 sensors (sensor_W) sampled every " +
                       std::to_string(sample_period().count() / 1000000) + " ms:";
    for (const Ina231Sensor& s : sensors_) {
      text += " " + s.rail + " (" + s.dir.filename().string() + ")";
    }
    return text;
  }

 protected:
  std::vector<double> read_watts() override {
    std::vector<double> watts;
    watts.reserve(sensors_.size());
    for (const Ina231Sensor& sensor : sensors_) {
      watts.push_back(read_double(sensor.dir / "sensor_W"));
    }
    return watts;
  }

 private:
  std::vector<Ina231Sensor> sensors_;
};

// The rail of a sensor: by its sensor_name when it has one, else by its I2C address.
std::string rail_of(const fs::path& dir, const std::string& address) {
  if (auto name = try_read_text(dir / "sensor_name")) {
    if (name->find("arm") != std::string::npos) return "a15";
    if (name->find("kfc") != std::string::npos) return "a7";
    if (name->find("g3d") != std::string::npos) return "gpu";
    if (name->find("mem") != std::string::npos) return "mem";
  }
  if (address == "0040") return "a15";
  if (address == "0041") return "mem";
  if (address == "0044") return "gpu";
  if (address == "0045") return "a7";
  return {};
}

// big, LITTLE, GPU, memory: the order the paper lists the rails in.
int rail_order(const std::string& rail) {
  return rail == "a15" ? 0 : rail == "a7" ? 1 : rail == "gpu" ? 2 : 3;
}

}  // namespace

Probe probe_ina231(const MeterOptions& options, bool enable_sensors) {
  fs::path driver = sysfs_path("bus/i2c/drivers/INA231");
  std::error_code ec;
  if (!fs::is_directory(driver, ec)) {
    return {nullptr, "no INA231 driver at " + driver.string() + " (not an ODROID XU3/XU4)"};
  }
  std::vector<Ina231Sensor> sensors;
  for (const auto& entry : fs::directory_iterator(driver, ec)) {
    std::string base = entry.path().filename().string();
    size_t dash = base.find('-');
    if (dash == std::string::npos || !fs::is_directory(entry.path(), ec)) continue;
    std::string rail = rail_of(entry.path(), base.substr(dash + 1));
    if (!rail.empty()) sensors.push_back({entry.path(), rail});
  }
  if (sensors.empty()) {
    return {nullptr, "the INA231 driver at " + driver.string() +
                         " has no sensor at 0x40, 0x41, 0x44 or 0x45"};
  }
  std::sort(sensors.begin(), sensors.end(), [](const auto& a, const auto& b) {
    return rail_order(a.rail) < rail_order(b.rail);
  });
  std::chrono::nanoseconds update{0};
  bool enabled_now = false;
  for (const Ina231Sensor& sensor : sensors) {
    std::string why;
    if (check_readable(sensor.dir / "sensor_W", &why) != Access::readable) {
      return {nullptr, "cannot read " + (sensor.dir / "sensor_W").string() + " (" + why +
                           "): run as root or make the sensor files readable"};
    }
    if (auto us = try_read_text(sensor.dir / "update_period")) {
      if (auto value = parse_leading_int(*us); value && *value > 0) {
        update = std::max(update, std::chrono::nanoseconds(*value * 1000));
      }
    }
    if (try_read_text(sensor.dir / "enable").value_or("0") == "1") continue;
    if (!enable_sensors) continue;  // discovery only looks; create_meter enables the sensor
    std::string error;
    if (!write_text(sensor.dir / "enable", "1", &error)) {
      return {nullptr, "the INA231 sensor " + sensor.dir.filename().string() +
                           " is disabled and cannot be enabled (" + error +
                           "): run as root, or `echo 1 | sudo tee " +
                           (driver / "*" / "enable").string() + "`"};
    }
    enabled_now = true;
  }
  // A sensor just enabled has no reading until its first averaging period has passed.
  if (enabled_now) std::this_thread::sleep_for(2 * update);
  std::vector<Rail> rails;
  for (const Ina231Sensor& sensor : sensors) rails.push_back({sensor.rail, true});
  Probe probe{std::make_unique<Ina231Meter>(std::move(sensors), std::move(rails),
                                            options.sample_hz, update),
              {}};
  probe.board_rails = true;
  return probe;
}

}  // namespace libscout::power
