// The results of one device as the report reads them: the device, the library versions, the
// study settings, the SGEMM sweep and the model runs. They come from a study directory (its
// libscout.study/1 manifest, or else every *.json in it: libscout.run/1 and libscout.gemm/1 files)
// or from one such file. Any field a measurement could not fill may be null or absent; here it is
// an empty optional, so the report can say "not measured" instead of showing a zero. Files that
// cannot be read are skipped with a warning; the rest is still reported.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::report {

inline constexpr const char* kStudySchema = "libscout.study/1";
inline constexpr const char* kRunSchema = "libscout.run/1";
inline constexpr const char* kGemmSchema = "libscout.gemm/1";
inline constexpr const char* kReportSchema = "libscout.report/1";

// ok: ran and passed validation; invalid: ran but its output differs from the reference; failed:
// did not finish (error, time or memory limit); crashed: its process died on a signal; skipped:
// not run (e.g. the library does not support this device). Only ok rows are ever ranked.
enum class RowStatus { ok, failed, invalid, crashed, skipped };
std::string to_string(RowStatus status);

struct DeviceInfo {
  std::string label;  // "name" if the study set one, else the board, else the CPU model
  std::string cpu_model;
  std::optional<int> cores;
  std::string os;
  std::string compiler;
  std::string architecture;
  std::optional<std::string> board_model;
  nlohmann::json clusters;   // as written by the study (a list of cluster descriptions)
  nlohmann::json cpus_used;  // as written by the study (a list of CPU numbers)
  nlohmann::json raw;        // the whole "device" object, as read
};

struct GemmRow {
  std::string provider;
  int m = 0, n = 0, k = 0;
  int threads = 0;
  std::optional<double> gflops;
  std::optional<double> gflops_with_transfer;  // for providers that copy to a device (OpenCL)
  std::optional<bool> validation_passed;
  RowStatus status = RowStatus::failed;
  std::string reason;
};

struct LatencyStats {
  double min = 0, median = 0, mean = 0, p90 = 0, p99 = 0, stddev = 0;
};

struct RailEnergy {
  std::string name;
  std::optional<double> avg_power_w;
  std::optional<double> mj_per_inference;
};

struct EnergyMeasurement {
  std::string meter;
  std::optional<double> window_s;
  std::optional<long long> inferences;
  std::optional<double> avg_power_w;
  std::optional<double> idle_power_w;
  std::optional<double> mj_per_inference;
  std::optional<double> net_mj_per_inference;
  std::vector<RailEnergy> rails;  // in the order of the file
};

struct RunRow {
  std::string model;
  std::string backend;
  int threads = 0;
  int batch = 1;
  std::optional<long long> iterations;
  std::optional<LatencyStats> latency_ms;  // for the whole batch
  std::optional<bool> validation_passed;
  std::optional<double> rel_l2_error;
  RowStatus status = RowStatus::failed;
  std::string reason;
  std::optional<EnergyMeasurement> energy;
  // Cores' worth of CPU time other work used just before the run (libscout run's
  // busy_cores_at_start); 0.5 or more marks the timing as taken on a busy machine.
  std::optional<double> busy_cores_at_start;
  bool measured_on_busy_machine() const { return busy_cores_at_start.value_or(0) >= 0.5; }

  // Median milliseconds per inference (the batch's median divided by the batch size).
  std::optional<double> ms_per_inference() const;
  // Only rows that ran, passed validation and have a latency may ever be ranked.
  bool rankable() const;
};

struct StudyResults {
  std::string source;  // the directory or file it was read from, as the user named it
  DeviceInfo device;
  std::map<std::string, std::string> libraries;  // library name -> version
  nlohmann::json settings;                        // warmup, min_time_s, energy_min_time_s, ...
  std::vector<GemmRow> gemm;
  std::vector<RunRow> runs;
  std::vector<std::string> files;     // the result files read, relative to `source`
  std::vector<std::string> warnings;  // files or rows skipped, and why (one line each)

  // True when any run carries an energy measurement (the device has a usable power meter).
  bool has_energy() const;
};

// Reads one device's results. `path` is a study directory or one result file. In a directory the
// first libscout.study/1 document (results.json, else study.json, else any *.json) is the
// manifest; without one every *.json file is read by its schema. Unreadable files and rows become
// warnings. Throws libscout::Error when `path` does not exist or holds no result at all.
StudyResults load_study(const std::filesystem::path& path);

// Adds one parsed document (any of the three schemas) to `study`; `name` names it in warnings and
// `dir` resolves the files a manifest refers to. Throws libscout::Error when the document is not
// one of them.
void add_document(StudyResults& study, const nlohmann::json& document, const std::string& name,
                  const std::filesystem::path& dir);

}  // namespace libscout::report
