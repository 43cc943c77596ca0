// nvml: NVIDIA GPUs through the NVIDIA Management Library, loaded at run time with dlopen
// (libnvidia-ml.so.1 ships with the driver, so libscout runs on machines without it and never
// links it). A GPU with a total-energy counter (Volta and newer,
// nvmlDeviceGetTotalEnergyConsumption, millijoules) is read at start and stop; otherwise its power
// (nvmlDeviceGetPowerUsage, milliwatts) is sampled. One rail per GPU: gpu0, gpu1, ...
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "core/error.h"
#include "power/counter_meter.h"
#include "power/probes.h"
#include "power/sampled_meter.h"

namespace libscout::power {

namespace {

// The few NVML declarations used here, as nvml.h has them (handles are opaque pointers).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;

class NvmlLibrary {
 public:
  // Loads and initializes NVML, or throws Unavailable saying why.
  static std::shared_ptr<NvmlLibrary> load() {
    const char* override_path = std::getenv("LIBSCOUT_NVML_LIBRARY");
    const char* path =
        override_path != nullptr && *override_path ? override_path : "libnvidia-ml.so.1";
    void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* error = ::dlerror();
      throw Unavailable(std::string("cannot load ") + path + " (" + (error ? error : "unknown") +
                        "): no NVIDIA driver on this machine");
    }
    auto lib = std::shared_ptr<NvmlLibrary>(new NvmlLibrary(handle));
    lib->bind();
    if (nvmlReturn_t r = lib->init_(); r != NVML_SUCCESS) {
      throw Unavailable("nvmlInit failed: " + lib->error(r));
    }
    lib->initialized_ = true;
    return lib;
  }

  ~NvmlLibrary() {
    if (initialized_) shutdown_();
    ::dlclose(handle_);
  }

  std::string error(nvmlReturn_t r) const {
    return error_string_ != nullptr ? error_string_(r) : "NVML error " + std::to_string(r);
  }
  void check(nvmlReturn_t r, const char* what) const {
    if (r != NVML_SUCCESS) throw Error(std::string(what) + " failed: " + error(r));
  }

  nvmlReturn_t (*init_)() = nullptr;
  nvmlReturn_t (*shutdown_)() = nullptr;
  const char* (*error_string_)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*device_count_)(unsigned*) = nullptr;
  nvmlReturn_t (*device_by_index_)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*device_name_)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*total_energy_)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*power_usage_)(nvmlDevice_t, unsigned*) = nullptr;

 private:
  explicit NvmlLibrary(void* handle) : handle_(handle) {}

  template <typename F>
  void symbol(F& function, const char* name, bool required = true) {
    function = reinterpret_cast<F>(::dlsym(handle_, name));
    if (function == nullptr && required) {
      throw Unavailable(std::string("the NVML library has no ") + name + " (driver too old)");
    }
  }
  void bind() {
    symbol(init_, "nvmlInit_v2");
    symbol(shutdown_, "nvmlShutdown");
    symbol(error_string_, "nvmlErrorString");
    symbol(device_count_, "nvmlDeviceGetCount_v2");
    symbol(device_by_index_, "nvmlDeviceGetHandleByIndex_v2");
    symbol(device_name_, "nvmlDeviceGetName");
    symbol(total_energy_, "nvmlDeviceGetTotalEnergyConsumption", false);
    symbol(power_usage_, "nvmlDeviceGetPowerUsage");
  }

  void* handle_;
  bool initialized_ = false;
};

struct Gpu {
  nvmlDevice_t device;
  std::string name;  // "NVIDIA H100 80GB HBM3"
};

std::string describe(const std::vector<Gpu>& gpus) {
  std::string text;
  for (size_t i = 0; i < gpus.size(); ++i) {
    text += (i ? ", " : "") + ("gpu" + std::to_string(i)) + " (" + gpus[i].name + ")";
  }
  return text;
}

class NvmlEnergyMeter final : public CounterMeter {
 public:
  NvmlEnergyMeter(std::shared_ptr<NvmlLibrary> lib, std::vector<Gpu> gpus, std::vector<Rail> rails)
      : CounterMeter(rails, std::vector<CounterSpec>(rails.size(), CounterSpec{1e-3, 0}),
                     std::chrono::nanoseconds(0)),
        lib_(std::move(lib)), gpus_(std::move(gpus)) {}

  ~NvmlEnergyMeter() override { halt(); }

  std::string name() const override { return "nvml"; }
  Coverage covers() const override { return Coverage::kGpu; }
  std::string description() const override {
    return "NVML total-energy counters (nvmlDeviceGetTotalEnergyConsumption), read at start and "
           "stop: " + describe(gpus_);
  }

 protected:
  std::vector<std::uint64_t> read_counters() override {
    std::vector<std::uint64_t> values;
    for (const Gpu& gpu : gpus_) {
      unsigned long long mj = 0;
      lib_->check(lib_->total_energy_(gpu.device, &mj), "nvmlDeviceGetTotalEnergyConsumption");
      values.push_back(mj);
    }
    return values;
  }

 private:
  std::shared_ptr<NvmlLibrary> lib_;
  std::vector<Gpu> gpus_;
};

class NvmlPowerMeter final : public SampledMeter {
 public:
  NvmlPowerMeter(std::shared_ptr<NvmlLibrary> lib, std::vector<Gpu> gpus, std::vector<Rail> rails,
                 double sample_hz)
      : SampledMeter(std::move(rails), sample_hz, std::chrono::nanoseconds(0)),
        lib_(std::move(lib)), gpus_(std::move(gpus)) {}

  ~NvmlPowerMeter() override { halt(); }

  std::string name() const override { return "nvml"; }
  Coverage covers() const override { return Coverage::kGpu; }
  std::string description() const override {
    return "NVML power (nvmlDeviceGetPowerUsage) sampled every " +
           std::to_string(sample_period().count() / 1000000) + " ms: " + describe(gpus_);
  }

 protected:
  std::vector<double> read_watts() override {
    std::vector<double> watts;
    for (const Gpu& gpu : gpus_) {
      unsigned mw = 0;
      lib_->check(lib_->power_usage_(gpu.device, &mw), "nvmlDeviceGetPowerUsage");
      watts.push_back(mw * 1e-3);
    }
    return watts;
  }

 private:
  std::shared_ptr<NvmlLibrary> lib_;
  std::vector<Gpu> gpus_;
};

}  // namespace

Probe probe_nvml(const MeterOptions& options) {
  std::shared_ptr<NvmlLibrary> lib;
  try {
    lib = NvmlLibrary::load();
  } catch (const Unavailable& e) {
    return {nullptr, e.what()};
  }
  unsigned count = 0;
  if (nvmlReturn_t r = lib->device_count_(&count); r != NVML_SUCCESS) {
    return {nullptr, "nvmlDeviceGetCount failed: " + lib->error(r)};
  }
  if (count == 0) return {nullptr, "NVML found no NVIDIA GPU"};
  std::vector<Gpu> gpus;
  std::vector<Rail> rails;
  bool all_have_counter = lib->total_energy_ != nullptr;
  bool all_have_power = true;
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t device = nullptr;
    if (nvmlReturn_t r = lib->device_by_index_(i, &device); r != NVML_SUCCESS) {
      return {nullptr, "nvmlDeviceGetHandleByIndex(" + std::to_string(i) +
                           ") failed: " + lib->error(r)};
    }
    char name[96] = {};
    lib->device_name_(device, name, sizeof name);
    gpus.push_back({device, name});
    rails.push_back({"gpu" + std::to_string(i), true});
    unsigned long long mj = 0;
    if (all_have_counter && lib->total_energy_(device, &mj) != NVML_SUCCESS) {
      all_have_counter = false;
    }
    unsigned mw = 0;
    if (lib->power_usage_(device, &mw) != NVML_SUCCESS) all_have_power = false;
  }
  if (all_have_counter && !options.nvml_power_sampling) {
    return {std::make_unique<NvmlEnergyMeter>(lib, std::move(gpus), std::move(rails)), {}};
  }
  if (all_have_power) {
    return {std::make_unique<NvmlPowerMeter>(lib, std::move(gpus), std::move(rails),
                                             options.sample_hz),
            {}};
  }
  return {nullptr, "the NVIDIA GPUs here (" + describe(gpus) +
                       ") report neither a total-energy counter nor power usage through NVML"};
}

}  // namespace libscout::power
