// list_meters() and create_meter(): the list of meter kinds, in the order "auto" prefers them.
#include "core/error.h"
#include "power/probes.h"

namespace libscout::power {

namespace {

class NoneMeter final : public Meter {
 public:
  explicit NoneMeter(std::string why) : why_(std::move(why)) {}
  std::string name() const override { return "none"; }
  std::string description() const override { return "no energy measurement: " + why_; }
  const std::vector<Rail>& rails() const override { return rails_; }
  void start() override {}
  Measurement stop() override { return make_measurement(name(), rails_, {}, 0.0); }

 private:
  std::string why_;
  std::vector<Rail> rails_;
};

Probe probe_by_name(const std::string& name, const MeterOptions& options, bool for_use) {
  if (name == "rapl") return probe_rapl(options);
  if (name == "nvml") return probe_nvml(options);
  if (name == "hwmon") return probe_hwmon(options);
  if (name == "ina231") return probe_ina231(options, for_use);
  if (name == "external") return probe_external({}, options);
  if (name.rfind("external:", 0) == 0) return probe_external(name.substr(9), options);
  throw Error("unknown meter \"" + name +
              "\": choose auto, rapl, nvml, hwmon, ina231, external:FILE or none");
}

MeterInfo info_of(const std::string& name, const Probe& probe) {
  MeterInfo info;
  info.name = name;
  info.available = probe.meter != nullptr;
  if (probe.meter) {
    info.description = probe.meter->description();
    info.rails = probe.meter->rails();
  } else {
    info.reason = probe.reason;
  }
  return info;
}

}  // namespace

std::unique_ptr<Meter> make_none_meter(std::string why) {
  return std::make_unique<NoneMeter>(std::move(why));
}

std::vector<MeterInfo> list_meters(const MeterOptions& options) {
  std::vector<MeterInfo> infos;
  for (const char* name : {"ina231", "hwmon", "rapl", "nvml", "external"}) {
    infos.push_back(info_of(name, probe_by_name(name, options, false)));
  }
  MeterInfo none;
  none.name = "none";
  none.available = true;
  none.description = "no measurement: the result says that no energy figure exists";
  infos.push_back(none);
  return infos;
}

const char* coverage_name(Coverage c) {
  switch (c) {
    case Coverage::kCpu: return "cpu";
    case Coverage::kGpu: return "gpu";
    case Coverage::kBoard: return "board";
  }
  return "board";
}

bool sees_device(Coverage c, const std::string& device) {
  if (c == Coverage::kBoard) return true;
  return device == coverage_name(c);
}

namespace {

// auto for a GPU run: NVML (the GPU's own counter), else the board's rails, which include the GPU
// on boards such as the Jetsons.
std::unique_ptr<Meter> auto_gpu_meter(const MeterOptions& options) {
  Probe nvml = probe_nvml(options);
  if (nvml.meter) return std::move(nvml.meter);
  Probe ina231 = probe_ina231(options, true);
  if (ina231.meter) return std::move(ina231.meter);
  Probe hwmon = probe_hwmon(options);
  if (hwmon.meter && hwmon.board_rails) return std::move(hwmon.meter);
  return make_none_meter("no power meter that sees the GPU (nvml: " + nvml.reason +
                         "; ina231: " + ina231.reason + "; hwmon: " + hwmon.reason + ")");
}

}  // namespace

std::unique_ptr<Meter> create_meter(const std::string& name, const MeterOptions& options,
                                    const std::string& device) {
  if (!(options.sample_hz > 0)) throw Error("the sampling rate must be positive");
  if (name == "none") return make_none_meter("--meter none");
  if (name != "auto") {
    Probe probe = probe_by_name(name, options, true);
    if (!probe.meter) throw Unavailable("meter " + name + " is not available: " + probe.reason);
    return std::move(probe.meter);
  }
  if (device == "gpu") return auto_gpu_meter(options);
  // auto for a CPU run: the board's own rail sensors first (what the paper measured), then RAPL,
  // then any other hwmon power sensor. Never NVML: a GPU's rail does not see the CPU's work.
  std::string reasons;
  Probe ina231 = probe_ina231(options, true);
  if (ina231.meter) return std::move(ina231.meter);
  reasons += "ina231: " + ina231.reason;
  Probe hwmon = probe_hwmon(options);
  if (hwmon.meter && hwmon.board_rails) return std::move(hwmon.meter);
  Probe rapl = probe_rapl(options);
  if (rapl.meter) return std::move(rapl.meter);
  if (hwmon.meter) return std::move(hwmon.meter);
  reasons += "; hwmon: " + hwmon.reason + "; rapl: " + rapl.reason;
  return make_none_meter("no power meter that sees the CPU on this device (" + reasons + ")");
}

}  // namespace libscout::power
