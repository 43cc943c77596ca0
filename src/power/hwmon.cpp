// hwmon: Linux hardware-monitoring power sensors under /sys/class/hwmon/hwmon*/ (see the kernel's
// Documentation/hwmon/sysfs-interface.rst). Per channel, the first of:
//   power<N>_input (or power<N>_average) in microwatts;
//   in<N>_input (millivolts) times curr<N>_input (milliamperes), named by in<N>_label: this is
//   how the mainline ina3221 driver shows the rails of NVIDIA Jetson modules (TX2 on mainline
//   kernels, Xavier and Orin on JetPack 5 and newer). Its channels 1-3 are the rails; in4-in7
//   are shunt voltages and curr4 the summed current, which are not rails.
// A device with only energy<N>_input (microjoules, cumulative) is read as a counter at start and
// stop instead, when no hwmon device reports power.
// Older Jetson kernels (TX1, TX2, Nano on JetPack 4) use the ina3221x IIO driver instead:
// /sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device*/in_power<N>_input (milliwatts) with the
// rail name in rail_name_<N>; this meter reads those too.
#include <algorithm>
#include <map>
#include <regex>

#include "core/error.h"
#include "power/counter_meter.h"
#include "power/probes.h"
#include "power/sampled_meter.h"
#include "power/sysfs.h"

namespace libscout::power {

namespace {

struct PowerSource {
  enum class Kind { microwatts, millivolts_times_milliamps, milliwatts, microjoules } kind;
  fs::path value;    // power or energy file, or the voltage file
  fs::path current;  // the current file for millivolts_times_milliamps
  std::string label;
  std::string device;  // "ina3221 (hwmon1)", for descriptions
  std::string where;   // "hwmon1", to tell apart rails with the same label
};

double read_source_watts(const PowerSource& source) {
  switch (source.kind) {
    case PowerSource::Kind::microwatts:
      return static_cast<double>(read_int(source.value)) * 1e-6;
    case PowerSource::Kind::milliwatts:
      return static_cast<double>(read_int(source.value)) * 1e-3;
    case PowerSource::Kind::millivolts_times_milliamps:
      return static_cast<double>(read_int(source.value)) *
             static_cast<double>(read_int(source.current)) * 1e-6;
    case PowerSource::Kind::microjoules:
      break;
  }
  throw Error("internal: " + source.value.string() + " is an energy counter, not a power sensor");
}

std::string describe_sources(const std::vector<PowerSource>& sources) {
  std::string text;
  for (const PowerSource& s : sources) {
    text += " " + s.label + " (" + s.device + ": " + s.value.filename().string() +
            (s.current.empty() ? "" : " x " + s.current.filename().string()) + ")";
  }
  return text;
}

class HwmonMeter final : public SampledMeter {
 public:
  HwmonMeter(std::vector<PowerSource> sources, std::vector<Rail> rails, double sample_hz,
             std::chrono::nanoseconds update)
      : SampledMeter(std::move(rails), sample_hz, update), sources_(std::move(sources)) {}
  ~HwmonMeter() override { halt(); }

  std::string name() const override { return "hwmon"; }
  std::string description() const override {
    return "hwmon power sensors sampled every " +
           std::to_string(sample_period().count() / 1000000) + " ms:" + describe_sources(sources_);
  }

 protected:
  std::vector<double> read_watts() override {
    std::vector<double> watts;
    watts.reserve(sources_.size());
    for (const PowerSource& source : sources_) watts.push_back(read_source_watts(source));
    return watts;
  }

 private:
  std::vector<PowerSource> sources_;
};

class HwmonEnergyMeter final : public CounterMeter {
 public:
  HwmonEnergyMeter(std::vector<PowerSource> sources, std::vector<Rail> rails)
      : CounterMeter(rails, std::vector<CounterSpec>(rails.size(), CounterSpec{1e-6, 0}),
                     std::chrono::nanoseconds(0)),
        sources_(std::move(sources)) {}
  ~HwmonEnergyMeter() override { halt(); }

  std::string name() const override { return "hwmon"; }
  std::string description() const override {
    return "hwmon energy counters, read at start and stop:" + describe_sources(sources_);
  }

 protected:
  std::vector<std::uint64_t> read_counters() override {
    std::vector<std::uint64_t> values;
    values.reserve(sources_.size());
    for (const PowerSource& source : sources_) values.push_back(read_uint(source.value));
    return values;
  }

 private:
  std::vector<PowerSource> sources_;
};

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool channel_disabled(const fs::path& enable_file) {
  auto value = try_read_text(enable_file);
  return value && *value == "0";
}

bool file_exists(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file, ec);
}

// The channels of one hwmon device, by number, each kind of file found.
struct Channels {
  std::map<int, fs::path> power, power_average, energy, in;
};

Channels scan_channels(const fs::path& dir) {
  static const std::regex pattern(R"((power|in|energy)(\d+)_(input|average))");
  Channels channels;
  for (const fs::path& file : sorted_entries(dir)) {
    std::string base = file.filename().string();
    std::smatch match;
    if (!std::regex_match(base, match, pattern)) continue;
    int n = std::stoi(match[2]);
    std::string what = match[1], kind = match[3];
    if (what == "power" && kind == "input") channels.power[n] = file;
    if (what == "power" && kind == "average") channels.power_average[n] = file;
    if (what == "energy" && kind == "input") channels.energy[n] = file;
    if (what == "in" && kind == "input") channels.in[n] = file;
  }
  return channels;
}

// Power and energy sources of one hwmon device.
void scan_hwmon_device(const fs::path& dir, std::vector<PowerSource>& power,
                       std::vector<PowerSource>& energy, std::chrono::nanoseconds& update) {
  std::string chip = try_read_text(dir / "name").value_or(dir.filename().string());
  std::string where = dir.filename().string();
  std::string device = chip + " (" + where + ")";
  auto label_of = [&](const std::string& prefix, int n) {
    return try_read_text(dir / (prefix + std::to_string(n) + "_label"))
        .value_or(chip + "-" + prefix + std::to_string(n));
  };
  Channels channels = scan_channels(dir);
  std::vector<PowerSource> found;
  for (const auto& [n, file] : channels.power) {
    if (channel_disabled(dir / ("power" + std::to_string(n) + "_enable"))) continue;
    found.push_back({PowerSource::Kind::microwatts, file, {}, label_of("power", n), device, where});
  }
  for (const auto& [n, file] : channels.power_average) {
    if (channels.power.count(n) != 0) continue;
    if (channel_disabled(dir / ("power" + std::to_string(n) + "_enable"))) continue;
    found.push_back({PowerSource::Kind::microwatts, file, {}, label_of("power", n), device, where});
  }
  if (found.empty()) {
    for (const auto& [n, file] : channels.in) {
      if (chip == "ina3221" && n > 3) break;  // in4-in7 are shunt voltages, curr4 the sum
      fs::path current = dir / ("curr" + std::to_string(n) + "_input");
      if (!file_exists(current)) continue;
      if (channel_disabled(dir / ("in" + std::to_string(n) + "_enable"))) continue;
      std::string label = try_read_text(dir / ("in" + std::to_string(n) + "_label"))
                              .value_or(label_of("curr", n));
      if (label == "NC") continue;  // Jetson device trees name unconnected channels "NC"
      found.push_back(
          {PowerSource::Kind::millivolts_times_milliamps, file, current, label, device, where});
    }
  }
  if (!found.empty()) {
    // update_interval: milliseconds between the chip's own updates.
    if (auto ms = try_read_text(dir / "update_interval")) {
      if (auto value = parse_leading_int(*ms); value && *value > 0) {
        update = std::max(update, std::chrono::nanoseconds(*value * 1000000));
      }
    }
    power.insert(power.end(), found.begin(), found.end());
    return;
  }
  for (const auto& [n, file] : channels.energy) {
    energy.push_back(
        {PowerSource::Kind::microjoules, file, {}, label_of("energy", n), device, where});
  }
}

// Legacy Jetson: ina3221x IIO devices with in_power<N>_input (mW) and rail_name_<N>.
void scan_legacy_ina3221x(std::vector<PowerSource>& out) {
  static const std::regex power_file(R"(in_power(\d+)_input)");
  for (const fs::path& chip : sorted_entries(sysfs_path("bus/i2c/drivers/ina3221x"))) {
    for (const fs::path& iio : sorted_entries(chip)) {
      if (iio.filename().string().rfind("iio:device", 0) != 0) continue;
      for (const fs::path& file : sorted_entries(iio)) {
        std::string base = file.filename().string();
        std::smatch match;
        if (!std::regex_match(base, match, power_file)) continue;
        std::string n = match[1];
        std::string label = try_read_text(iio / ("rail_name_" + n))
                                .value_or(chip.filename().string() + "-power" + n);
        if (label == "NC") continue;
        out.push_back({PowerSource::Kind::milliwatts, file, {}, label,
                       "ina3221x (" + chip.filename().string() + ")", chip.filename().string()});
      }
    }
  }
}

// The rail that feeds the whole module (VDD_IN on TX2 and Orin Nano, POM_5V_IN on Nano,
// VIN_SYS_5V0 on AGX Orin) contains the others.
bool is_input_rail(const std::string& label) {
  static const std::regex input(R"((^|.*_)IN$|^VIN(_.*)?$)", std::regex::icase);
  return std::regex_match(label, input);
}

// Rail names, unique (a repeated label gets "@<device>"), and which rails add into the total:
// only the module input rail where there is one, else all.
std::vector<Rail> rails_of(const std::vector<PowerSource>& sources) {
  bool has_input = std::any_of(sources.begin(), sources.end(),
                               [](const PowerSource& s) { return is_input_rail(s.label); });
  std::vector<Rail> rails;
  for (const PowerSource& source : sources) {
    std::string name = source.label;
    if (std::count_if(sources.begin(), sources.end(),
                      [&](const PowerSource& s) { return s.label == source.label; }) > 1) {
      name += "@" + source.where;
    }
    rails.push_back({name, has_input ? is_input_rail(source.label) : true});
  }
  return rails;
}

std::string first_unreadable(const std::vector<PowerSource>& sources) {
  for (const PowerSource& source : sources) {
    for (const fs::path& file : {source.value, source.current}) {
      if (file.empty()) continue;
      std::string why;
      if (check_readable(file, &why) != Access::readable) {
        return "cannot read " + file.string() + " (" + why +
               "): run as root or make the sensor files readable";
      }
    }
  }
  return {};
}

}  // namespace

Probe probe_hwmon(const MeterOptions& options) {
  std::vector<PowerSource> power, energy;
  std::chrono::nanoseconds update{0};
  fs::path hwmon = sysfs_path("class/hwmon");
  for (const fs::path& dir : sorted_entries(hwmon)) {
    if (dir.filename().string().rfind("hwmon", 0) != 0) continue;
    scan_hwmon_device(dir, power, energy, update);
  }
  scan_legacy_ina3221x(power);
  if (power.empty() && energy.empty()) {
    return {nullptr, "no power sensor under " + hwmon.string() +
                         " (no hwmon device with power*_input, in*_input and curr*_input, or "
                         "energy*_input) and no legacy Jetson INA3221 under " +
                         sysfs_path("bus/i2c/drivers/ina3221x").string()};
  }
  if (power.empty()) {
    if (std::string why = first_unreadable(energy); !why.empty()) return {nullptr, why};
    std::vector<Rail> rails = rails_of(energy);
    return {std::make_unique<HwmonEnergyMeter>(std::move(energy), std::move(rails)), {}};
  }
  if (std::string why = first_unreadable(power); !why.empty()) return {nullptr, why};
  std::vector<Rail> rails = rails_of(power);
  bool board = std::any_of(power.begin(), power.end(),
                           [](const PowerSource& s) { return s.device.rfind("ina", 0) == 0; });
  Probe probe{std::make_unique<HwmonMeter>(std::move(power), std::move(rails), options.sample_hz,
                                           update),
              {}};
  probe.board_rails = board;
  return probe;
}

}  // namespace libscout::power
