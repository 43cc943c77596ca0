// nvml: runs against the real NVIDIA driver where there is one and skips cleanly elsewhere.
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "backends/registry.h"
#include "core/error.h"
#include "measure/model_benchmark.h"
#include "power/energy.h"
#include "power/meter.h"
#include "power/probes.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

TEST(Nvml, WithoutTheLibraryItIsUnavailableAndSaysWhy) {
  testing::ScopedEnv library("LIBSCOUT_NVML_LIBRARY", "libscout-no-such-nvml.so");
  Probe probe = probe_nvml({});
  EXPECT_EQ(probe.meter, nullptr);
  EXPECT_NE(probe.reason.find("cannot load libscout-no-such-nvml.so"), std::string::npos)
      << probe.reason;
  EXPECT_NE(probe.reason.find("no NVIDIA driver"), std::string::npos) << probe.reason;
}

// The NVML meter on this machine's GPUs, or a skip saying why there are none.
std::unique_ptr<Meter> real_nvml(const MeterOptions& options = {}) {
  Probe probe = probe_nvml(options);
  if (!probe.meter) std::printf("no NVML meter: %s\n", probe.reason.c_str());
  return std::move(probe.meter);
}

TEST(Nvml, IdlePowerOfTheRealGpu) {
  auto meter = real_nvml();
  if (!meter) GTEST_SKIP() << "no NVIDIA GPU with NVML here: " << probe_nvml({}).reason;
  std::printf("%s\n", meter->description().c_str());
  ASSERT_FALSE(meter->rails().empty());
  EXPECT_EQ(meter->rails()[0].name, "gpu0");
  meter->start();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Measurement m = meter->stop();
  std::printf("idle over %.3f s: %.3f J, %.2f W\n", m.duration_s, m.energy_j, m.avg_power_w);
  EXPECT_GE(m.duration_s, 1.0);
  // Any NVIDIA GPU draws some watts and less than a kilowatt at rest.
  EXPECT_GT(m.avg_power_w, 1.0);
  EXPECT_LT(m.avg_power_w, 1000.0);
}

TEST(Nvml, CounterAndPowerSamplesAgreeAtRest) {
  auto counter = real_nvml();
  if (!counter) GTEST_SKIP() << "no NVIDIA GPU with NVML here: " << probe_nvml({}).reason;
  if (counter->description().find("total-energy") == std::string::npos) {
    GTEST_SKIP() << "this GPU has no total-energy counter: " << counter->description();
  }
  MeterOptions sampled_options;
  sampled_options.nvml_power_sampling = true;
  auto sampled = real_nvml(sampled_options);
  ASSERT_NE(sampled, nullptr);
  // One window for both, so that a GPU still cooling down from earlier work is seen alike.
  counter->start();
  sampled->start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const Measurement b = sampled->stop();
  const Measurement a = counter->stop();
  std::printf("at rest: counter %.2f W, power samples %.2f W (%zu samples)\n", a.avg_power_w,
              b.avg_power_w, b.samples.size());
  EXPECT_NEAR(a.avg_power_w, b.avg_power_w, 0.15 * a.avg_power_w);
}

// A GPU backend's inference measured with NVML: positive energy per image, idle subtracted.
TEST(Nvml, EnergyOfAGpuRunIsPositiveNetOfIdle) {
  auto meter = real_nvml();
  if (!meter) GTEST_SKIP() << "no NVIDIA GPU with NVML here: " << probe_nvml({}).reason;
  std::string gpu_backend;
  for (const BackendInfo& b : list_backends()) {
    if (b.available && b.device == DeviceKind::kGpu) gpu_backend = b.name;
  }
  if (gpu_backend.empty()) GTEST_SKIP() << "no GPU backend is available here";
  BenchmarkOptions opts;
  opts.model = "squeezenet1.1";
  opts.backend = gpu_backend;
  opts.model_options.batch = 16;
  opts.iterations = 5;
  EnergyOptions energy;
  energy.idle_s = 0.5;
  energy.min_window_s = 1.0;
  EnergyOutcome outcome;
  auto hook = energy_hook(*meter, energy, &outcome);
  BenchmarkResult r = benchmark_model(opts, nullptr, hook);
  ASSERT_TRUE(r.validation.passed);
  EXPECT_EQ(r.device, "gpu");
  ASSERT_TRUE(outcome.report.has_value()) << outcome.error;
  const EnergyReport& e = *outcome.report;
  std::printf("%s on %s: %s\n", opts.model.c_str(), gpu_backend.c_str(),
              summary_line(e).c_str());
  EXPECT_EQ(e.covers, "gpu");
  EXPECT_EQ(e.inferences % 16, 0);
  ASSERT_TRUE(e.idle_power_w.has_value());
  ASSERT_TRUE(e.net_mj_per_inference.has_value());
  EXPECT_GT(*e.net_mj_per_inference, 0.0);
  EXPECT_LT(*e.net_mj_per_inference, e.mj_per_inference);
}

// A CPU run measured through NVML gets no energy figure: the GPU's rail cannot see it.
TEST(Nvml, ACpuRunGetsNoEnergyFigureFromTheGpuRail) {
  auto meter = real_nvml();
  if (!meter) GTEST_SKIP() << "no NVIDIA GPU with NVML here: " << probe_nvml({}).reason;
  BenchmarkOptions opts;
  opts.model = "squeezenet1.1";
  opts.backend = "gemm:eigen";
  opts.model_options.resolution = 64;
  opts.iterations = 2;
  EnergyOutcome outcome;
  BenchmarkResult r = benchmark_model(opts, nullptr, energy_hook(*meter, {}, &outcome));
  EXPECT_FALSE(outcome.report.has_value());
  EXPECT_NE(outcome.error.find("no energy figure"), std::string::npos) << outcome.error;
  EXPECT_TRUE(r.extra["energy"].is_null());
}

}  // namespace
}  // namespace libscout::power
