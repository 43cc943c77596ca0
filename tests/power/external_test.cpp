// external: CSV logs of an external power meter, aligned with the window by Unix timestamps.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "power/external_log.h"
#include "power/meter.h"
#include "power_fixture.h"

namespace libscout::power {
namespace {

using testing::data_dir;
using testing::TempDir;

constexpr double kBase = 1714564800.0;  // the fixtures' first timestamp

// The samples of a log file, parsed as the meter parses them.
std::vector<PowerSample> load(const fs::path& file, ExternalLogFormat* format_out = nullptr) {
  std::ifstream in(file);
  std::string line;
  std::optional<ExternalLogFormat> format;
  std::vector<PowerSample> samples;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!format) {
      format = ExternalLogFormat::from_header(line);
      if (format->has_header) continue;
    }
    if (auto sample = format->parse_row(line)) samples.push_back(*sample);
  }
  if (format_out != nullptr && format) *format_out = *format;
  return samples;
}

TEST(ExternalLog, HeaderColumns) {
  ExternalLogFormat f = ExternalLogFormat::from_header("timestamp,watts");
  EXPECT_TRUE(f.has_header);
  EXPECT_EQ(f.time_column, 0);
  ASSERT_EQ(f.columns.size(), 1u);
  EXPECT_EQ(f.columns[0].rail, "power");

  f = ExternalLogFormat::from_header("Time (ms); A15 (W); GPU [mW]");
  EXPECT_EQ(f.delimiter, ';');
  EXPECT_DOUBLE_EQ(f.time_divisor, 1e3);
  ASSERT_EQ(f.columns.size(), 2u);
  EXPECT_EQ(f.columns[0].rail, "a15");
  EXPECT_EQ(f.columns[1].rail, "gpu");
  EXPECT_DOUBLE_EQ(f.columns[1].scale, 1e-3);

  f = ExternalLogFormat::from_header("1714564800.0,1.5");
  EXPECT_FALSE(f.has_header);

  EXPECT_THROW(ExternalLogFormat::from_header("watts,volts"), Error);    // no time column
  EXPECT_THROW(ExternalLogFormat::from_header("timestamp,temp_c"), Error);  // no power column
}

TEST(ExternalLog, Iso8601Timestamps) {
  EXPECT_DOUBLE_EQ(*parse_iso8601("2024-05-01T12:00:00Z"), kBase);
  EXPECT_DOUBLE_EQ(*parse_iso8601("2024-05-01 14:00:00.25+02:00"), kBase + 0.25);
  EXPECT_FALSE(parse_iso8601("yesterday"));
  ExternalLogFormat f = ExternalLogFormat::from_header("time,power_w");
  auto sample = f.parse_row("2024-05-01T12:00:01.5Z,3.5");
  ASSERT_TRUE(sample);
  EXPECT_DOUBLE_EQ(sample->t_s, kBase + 1.5);
  EXPECT_DOUBLE_EQ(sample->watts[0], 3.5);
  EXPECT_FALSE(f.parse_row("2024-05-01T12:00:02Z,n/a"));
}

// usb-meter.csv: 2 W at 0 and 0.5 s, 4 W at 1 and 1.5 s, 3 W at 2 and 2.5 s, 1 W at 3 s. Over
// [0.25, 2.75] the trapezoids give 0.5 + 1.5 + 2 + 1.75 + 1.5 + 0.625 = 7.875 J (the window's
// edges interpolated: 2 W at 0.25 s, 2 W at 2.75 s).
TEST(ExternalLog, WindowIntegrationOfTheUsbMeterLog) {
  std::vector<PowerSample> samples = load(data_dir() / "external/usb-meter.csv");
  ASSERT_EQ(samples.size(), 7u);
  std::vector<double> joules = integrate_window(samples, kBase + 0.25, kBase + 2.75, 1);
  EXPECT_NEAR(joules[0], 7.875, 1e-9);
  // The whole log: 1 + 1.5 + 2 + 1.75 + 1.5 + 1 = 8.75 J.
  EXPECT_NEAR(integrate_window(samples, kBase, kBase + 3, 1)[0], 8.75, 1e-9);
  EXPECT_THROW(integrate_window(samples, kBase - 1, kBase + 1, 1), Error);   // before the log
  EXPECT_THROW(integrate_window(samples, kBase + 1, kBase + 3.5, 1), Error);  // after it
}

// volts-amps.csv: milliseconds, volts and amps, ';': 2.0 W, 3.0 W, 3.06 W at 0, 0.1, 0.2 s.
TEST(ExternalLog, VoltsTimesAmps) {
  ExternalLogFormat format;
  std::vector<PowerSample> samples = load(data_dir() / "external/volts-amps.csv", &format);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_DOUBLE_EQ(samples[1].t_s, kBase + 0.1);
  EXPECT_NEAR(samples[2].watts[0], 3.06, 1e-12);
  // Unix seconds in a double resolve 0.24 us, hence the tolerance.
  EXPECT_NEAR(integrate_window(samples, kBase, kBase + 0.2, 1)[0], 0.25 + 0.303, 1e-6);
}

TEST(ExternalLog, HeaderlessTimestampWatts) {
  std::vector<PowerSample> samples = load(data_dir() / "external/headerless.csv");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_NEAR(integrate_window(samples, kBase, kBase + 1, 1)[0], 2.0, 1e-12);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Appends "<unix time>,<watts>" lines every 10 ms from its start until stopped, as a meter's
// logging program would.
class LogWriter {
 public:
  LogWriter(fs::path file, double watts) : file_(std::move(file)), watts_(watts) {
    thread_ = std::thread([this] {
      while (!stop_) {
        std::FILE* f = std::fopen(file_.c_str(), "a");
        std::fprintf(f, "%.6f,%.3f\n", unix_now(), watts_);
        std::fclose(f);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  ~LogWriter() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  fs::path file_;
  double watts_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ExternalMeter, IntegratesALogThatIsStillBeingWritten) {
  TempDir dir;
  fs::path log = dir.path() / "meter.csv";
  testing::write_value(log, "timestamp,watts");
  LogWriter writer(log, 3.25);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto meter = create_meter("external:" + log.string());
  EXPECT_EQ(meter->name(), "external");
  meter->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Measurement m = meter->stop();  // waits for the line that passes the window's end
  writer.stop();
  EXPECT_GE(m.duration_s, 0.3);
  EXPECT_NEAR(m.avg_power_w, 3.25, 1e-9);
  EXPECT_NEAR(m.energy_j, 3.25 * m.duration_s, 1e-9);
  EXPECT_GE(m.samples.size(), 10u);
}

TEST(ExternalMeter, ALogThatStartsAfterTheWindowIsAnError) {
  TempDir dir;
  fs::path log = dir.path() / "meter.csv";
  testing::write_value(log, "timestamp,watts");
  auto meter = create_meter("external:" + log.string());
  meter->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  LogWriter writer(log, 1.0);
  try {
    meter->stop();
    FAIL() << "a log that begins inside the window was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("after the window began"), std::string::npos) << e.what();
  }
}

TEST(ExternalMeter, ALogThatStopsIsAnErrorAfterTheWait) {
  TempDir dir;
  fs::path log = dir.path() / "meter.csv";
  testing::write_value(log, "timestamp,watts\n" + std::to_string(unix_now() - 1.0) + ",2.0");
  MeterOptions options;
  options.external_wait_s = 0.2;
  auto meter = create_meter("external:" + log.string(), options);
  meter->start();
  try {
    meter->stop();
    FAIL() << "a log that ends before the window was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("before the end of the window"), std::string::npos)
        << e.what();
  }
}

TEST(ExternalMeter, BadLogsAreUnavailableWithTheReason) {
  TempDir dir;
  EXPECT_THROW(create_meter("external:" + (dir.path() / "absent.csv").string()), Unavailable);
  fs::path log = dir.path() / "meter.csv";
  testing::write_value(log, "time,temperature");
  try {
    create_meter("external:" + log.string());
    FAIL() << "a log without a power column was accepted";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no power column"), std::string::npos) << e.what();
  }
  testing::ScopedEnv unset("LIBSCOUT_EXTERNAL_LOG", "");
  try {
    create_meter("external");
    FAIL() << "external without a log was accepted";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("--meter external:FILE.csv"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace libscout::power
