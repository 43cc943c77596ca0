// rapl: the Linux powercap interface to Intel RAPL (also AMD Zen since Linux 5.11):
// /sys/class/powercap/intel-rapl:<package>[:<subzone>]/{name,energy_uj,max_energy_range_uj}.
// Top zones are package-N (and psys, the whole platform, on some laptops); their subzones are
// core, uncore and dram. energy_uj counts microjoules and wraps at max_energy_range_uj.
#include <algorithm>

#include "core/error.h"
#include "power/counter_meter.h"
#include "power/probes.h"
#include "power/sysfs.h"

namespace libscout::power {

namespace {

struct RaplZone {
  fs::path dir;
  std::string id;  // "0" or "0:1"
  Rail rail;
  std::uint64_t range = 0;
};

class RaplMeter final : public CounterMeter {
 public:
  RaplMeter(std::vector<RaplZone> zones, std::vector<Rail> rails, std::vector<CounterSpec> specs,
            std::chrono::nanoseconds guard)
      : CounterMeter(std::move(rails), std::move(specs), guard), zones_(std::move(zones)) {}

  ~RaplMeter() override { halt(); }

  std::string name() const override { return "rapl"; }
  Coverage covers() const override { return Coverage::kCpu; }
  std::string description() const override {
    std::string zones;
    for (const RaplZone& zone : zones_) {
      zones += (zones.empty() ? "" : ", ") + zone.rail.name + " (intel-rapl:" + zone.id + ")";
    }
    return "RAPL energy counters through powercap, read at start and stop: " + zones;
  }

 protected:
  std::vector<std::uint64_t> read_counters() override {
    std::vector<std::uint64_t> values;
    values.reserve(zones_.size());
    for (const RaplZone& zone : zones_) values.push_back(read_uint(zone.dir / "energy_uj"));
    return values;
  }

 private:
  std::vector<RaplZone> zones_;
};

// "intel-rapl:0:1" -> "0:1"; empty for names that are not zones.
std::string zone_id(const std::string& entry, const std::string& prefix) {
  if (entry.rfind(prefix, 0) != 0) return {};
  return entry.substr(prefix.size());
}

std::string cpu_vendor_hint() {
  auto cpuinfo = try_read_text(procfs_path("cpuinfo"));
  if (!cpuinfo) return {};
  if (cpuinfo->find("GenuineIntel") != std::string::npos ||
      cpuinfo->find("AuthenticAMD") != std::string::npos) {
    return " (the CPU has RAPL: load the driver with `sudo modprobe intel_rapl_msr`; inside a "
           "container or VM the host may hide it)";
  }
  return " (RAPL exists only on Intel and AMD x86 processors)";
}

}  // namespace

Probe probe_rapl(const MeterOptions& options) {
  fs::path powercap = sysfs_path("class/powercap");
  std::error_code ec;
  if (!fs::is_directory(powercap, ec)) {
    return {nullptr, "no powercap interface at " + powercap.string() + cpu_vendor_hint()};
  }
  // Zones through the MSR interface; intel-rapl-mmio zones repeat a package zone and are used
  // only for a zone name the MSR interface lacks.
  std::vector<std::pair<std::string, fs::path>> entries;
  for (const auto& entry : fs::directory_iterator(powercap, ec)) {
    entries.emplace_back(entry.path().filename().string(), entry.path());
  }
  std::sort(entries.begin(), entries.end());
  std::vector<RaplZone> zones;
  std::vector<std::string> unreadable;
  for (const std::string prefix : {"intel-rapl:", "intel-rapl-mmio:"}) {
    for (const auto& [entry, dir] : entries) {
      std::string id = zone_id(entry, prefix);
      if (id.empty()) continue;
      auto zone_name = try_read_text(dir / "name");
      if (!zone_name) continue;
      bool sub = id.find(':') != std::string::npos;
      std::string package = id.substr(0, id.find(':'));
      std::string rail = *zone_name;
      if (sub) rail += "-" + package;  // core-0, dram-0: subzones of package 0
      if (prefix == std::string("intel-rapl-mmio:") &&
          std::any_of(zones.begin(), zones.end(),
                      [&](const RaplZone& z) { return z.rail.name == rail; })) {
        continue;
      }
      std::string why;
      Access access = check_readable(dir / "energy_uj", &why);
      if (access == Access::missing) continue;
      if (access != Access::readable) {
        unreadable.push_back((dir / "energy_uj").string() + " (" + why + ")");
        continue;
      }
      RaplZone zone;
      zone.dir = dir;
      zone.id = id;
      zone.rail.name = rail;
      // The total is the packages plus DRAM; core and uncore are parts of the package, and psys
      // (the platform) contains everything.
      bool is_package = zone_name->rfind("package", 0) == 0;
      zone.rail.in_total = (!sub && is_package) || *zone_name == "dram";
      zone.range = read_uint(dir / "max_energy_range_uj");
      zones.push_back(std::move(zone));
    }
  }
  if (!unreadable.empty()) {
    std::string files;
    for (const auto& f : unreadable) files += (files.empty() ? "" : ", ") + f;
    std::string root = powercap.string();
    return {nullptr, "cannot read the RAPL energy counters " + files +
                         ": energy_uj is readable by root only since Linux 5.10; run as root or "
                         "grant access until the next boot with `sudo chmod a+r " + root +
                         "/intel-rapl:*/energy_uj " + root + "/intel-rapl:*:*/energy_uj`"};
  }
  if (zones.empty()) {
    return {nullptr, "no RAPL zones (intel-rapl:*) under " + powercap.string() + cpu_vendor_hint()};
  }
  if (std::none_of(zones.begin(), zones.end(), [](const RaplZone& z) { return z.rail.in_total; })) {
    for (RaplZone& zone : zones) zone.rail.in_total = zone.id.find(':') == std::string::npos;
  }
  std::vector<Rail> rails;
  std::vector<CounterSpec> specs;
  for (const RaplZone& zone : zones) {
    rails.push_back(zone.rail);
    specs.push_back({1e-6, zone.range});
  }
  // The shortest time a counter could take to wrap, at an assumed 1 kW per zone; the guard reads
  // the counters four times within it (never more often than every 10 ms, at most every 10 s).
  std::uint64_t smallest = UINT64_MAX;
  for (const RaplZone& zone : zones) {
    if (zone.range > 0) smallest = std::min(smallest, zone.range);
  }
  double wrap_s = smallest == UINT64_MAX ? 1e9 : static_cast<double>(smallest) * 1e-6 / 1000.0;
  double guard_s = std::clamp(wrap_s / 4.0, 0.01, 10.0);
  auto guard = std::chrono::nanoseconds(static_cast<long long>(guard_s * 1e9));
  (void)options;
  return {std::make_unique<RaplMeter>(std::move(zones), std::move(rails), std::move(specs), guard),
          {}};
}

}  // namespace libscout::power
