// The results of one device as the report reads them: the device, the library versions, how the
// study measured (its `method`), the SGEMM sweep and the model runs. They come from a study
// directory (its libscout.study/1 results.json, with rows inline, as `libscout study` writes it; or,
// without one, every libscout.run/1 and libscout.gemm/1 file that `libscout run --json` and
// `libscout gemm --json` wrote) or from one such file. The fields are those of
// docs/json-schemas.md. A field an older study did not write is an empty optional, so the report
// says "not recorded" instead of showing a zero. Files and rows that cannot be read are skipped
// with a warning; the rest is still reported.
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
  std::optional<std::string> board;
  nlohmann::json clusters;    // as written by the study (a list of cluster descriptions)
  nlohmann::json cores_used;  // as written by the study (a list of CPU numbers)
  nlohmann::json raw;         // the whole "device" object, as read
};

// A confidence interval of a median (level and method in the row's `ci`, or the study's method).
struct Interval {
  double lo = 0, hi = 0;
  bool overlaps(const Interval& other) const { return lo <= other.hi && other.lo <= hi; }
};

// report.json's forms of optional figures: [low, high] times `scale`, or null; a number, or null.
nlohmann::json interval_json(const std::optional<Interval>& ci, double scale = 1);
nlohmann::json number_or_null(const std::optional<double>& v);

struct GemmRow {
  std::string provider;
  std::string version;  // as the provider reported it ("" when not recorded)
  int m = 0, n = 0, k = 0;
  int threads = 0;                         // what the provider says it uses
  std::optional<int> threads_requested;    // what was asked (study rows)
  std::optional<double> gflops;
  std::optional<double> gflops_with_transfer;  // for providers that copy to a device (OpenCL, CUDA)
  std::optional<bool> validation_passed;
  RowStatus status = RowStatus::failed;
  std::string reason;
  int asked_threads() const { return threads_requested.value_or(threads); }
};

struct LatencyStats {
  double min = 0, median = 0, mean = 0, p90 = 0, p99 = 0, stddev = 0;
  std::optional<Interval> ci;  // ci_low, ci_high of the median
};

struct RailEnergy {
  std::string name;
  std::optional<double> avg_power_w;
  std::optional<double> mj_per_inference;
  bool in_total = true;
};

struct EnergyMeasurement {
  std::string meter;
  std::optional<double> window_s;
  std::optional<long long> inferences;
  std::optional<double> avg_power_w;
  std::optional<double> idle_power_w;
  std::optional<double> mj_per_inference;
  std::optional<double> net_mj_per_inference;
  std::optional<Interval> mj_ci;  // mj_per_inference_ci_low/_high (study rows, 2+ windows)
  std::optional<long long> windows;  // the study's `rounds`: windows measured
  std::vector<RailEnergy> rails;  // in the order of the file
  // What the meter can see: "cpu", "gpu" or "board" (both); "" when unknown. The energy object's
  // `covers`, else (older results) from the meter's kind: rapl covers the CPU package, nvml the
  // GPU, ina231, hwmon and external meters the whole board.
  std::string covers;
};

// The device a meter of this kind can see ("cpu", "gpu", "board"; "" for a meter not known).
std::string meter_coverage(const std::string& meter);

// One round of a study row (libscout study measures each row in rounds).
struct RoundResult {
  int round = 0;
  RowStatus status = RowStatus::ok;
  std::string reason;
  std::optional<double> median_ms;
  std::optional<double> busy_cores_at_start;
  bool remeasured = false;
};

// The energy figure of a row the report may rank: present only where a meter measured and that
// meter can see the device that did the work; otherwise `none` says why.
struct EnergyFigure {
  std::optional<double> mj_per_inference;
  std::optional<Interval> ci;
  std::string none;  // "" when there is a figure
};

struct RunRow {
  std::string model;
  std::string backend;
  std::string device = "cpu";  // where the backend runs: "cpu" or "gpu"
  int threads = 0;                       // what the library really uses
  std::optional<int> threads_requested;  // what was asked
  std::string threads_source;            // "library" or "requested" ("" when not recorded)
  int batch = 1;
  std::optional<long long> warmup;
  std::optional<long long> iterations;
  std::optional<double> min_time_s;
  std::optional<LatencyStats> latency_ms;      // for the whole batch
  std::optional<LatencyStats> device_time_ms;  // GPU backends: device time, whole batch
  std::string ci_method;                       // the row's ci.method
  std::optional<double> ci_level;
  std::optional<bool> validation_passed;
  std::optional<double> rel_l2_error;
  RowStatus status = RowStatus::failed;
  std::string reason;
  std::optional<EnergyMeasurement> energy;
  std::string energy_error;  // why no meter measured (the run's energy_error)
  // Cores' worth of CPU time other work used just before the run (the largest over the rounds).
  std::optional<double> busy_cores_at_start;
  std::optional<bool> busy;  // the study's verdict after re-measuring busy rounds
  std::string library_version;
  std::map<std::string, std::string> library_versions;  // backend -> version, fallback included
  std::vector<std::string> backends_used;
  std::string fallback_backend;
  std::vector<std::string> fallback_layer_names;
  int fallback_layers = 0;
  std::optional<double> fallback_time_share;  // 0 to 1
  std::vector<RoundResult> rounds;
  std::optional<int> rounds_ok;
  nlohmann::json settings;  // Backend::settings(): what really ran (GPU math mode, graphs, ...)

  int asked_threads() const { return threads_requested.value_or(threads); }
  // Timed on a machine other work kept busy: the study's `busy` verdict, else (single runs)
  // half a core or more of other work at the start.
  bool measured_on_busy_machine() const {
    return busy ? *busy : busy_cores_at_start.value_or(0) >= 0.5;
  }
  // Median milliseconds per inference (the batch's median divided by the batch size).
  std::optional<double> ms_per_inference() const;
  std::optional<Interval> ms_per_inference_ci() const;
  // Only rows that ran, passed validation and have a latency may ever be ranked.
  bool rankable() const;
  EnergyFigure energy_figure() const;
};

// A per-layer plan of `auto` (the study's plans[]: its plan step at one model and thread count).
// Its figures are the planner's own: its interleaved comparison of the plan with every single
// backend. The `auto` row in `runs` is the study's measurement of the same plan.
struct PlanContender {
  std::string name;  // "plan", "plan (fewer switches)" or a single backend
  double median_ms = 0;
  std::optional<Interval> ci;
  std::optional<double> predicted_ms;  // the planner's model of it
};

struct PlanAlternative {
  std::string backend;
  std::optional<double> in_context_ms;  // the layer inside the whole network on that backend
  std::optional<double> alone_ms;       // as its own segment, boundary conversions included
  std::string declined;                 // why the backend does not run the layer
};

struct PlanLayer {
  std::string name, op, backend;  // backend: the one the plan runs it on ("in-place": a concat)
  std::vector<PlanAlternative> alternatives;
};

struct PlanResult {
  std::string model;
  int threads = 0;
  std::string step;
  RowStatus status = RowStatus::failed;  // ok or failed (then `reason`)
  std::string reason;
  std::optional<double> wall_s;          // the plan step's, planning included
  std::string file;                      // the plan file, relative to the study
  std::vector<std::string> backends;     // the candidates the planner was given
  std::string chosen;
  std::optional<PlanContender> chosen_figures, best_single;
  std::optional<double> speedup;         // best single median / chosen median
  std::optional<Interval> speedup_ci;
  std::vector<PlanContender> contenders;
  std::vector<PlanLayer> layers;
  std::map<std::string, std::string> not_considered;  // backend -> why
  std::optional<double> planning_s;
};

struct StudyResults {
  std::string source;  // the directory or file it was read from, as the user named it
  DeviceInfo device;
  std::map<std::string, std::string> libraries;  // library name -> version, as the study listed
  nlohmann::json config;  // what was measured (the study's options)
  nlohmann::json method;  // how: warm-up, timing rule, rounds, interval, energy protocol, ...
  nlohmann::json not_swept;  // thread counts left out because the library cannot use them
  std::vector<GemmRow> gemm;
  std::vector<RunRow> runs;
  std::vector<PlanResult> plans;  // the plans of `auto`, as the study wrote them
  std::vector<std::string> files;     // the result files read, relative to `source`
  std::vector<std::string> warnings;  // files or rows skipped, and why (one line each)

  // True when any run carries an energy measurement (the device has a usable power meter).
  bool has_energy() const;
};

// Reads one device's results. `path` is a study directory or one result file. In a directory
// results.json (else any libscout.study/1 document) is the study; without one every *.json file
// is read by its schema. Unreadable files and rows become warnings. Throws libscout::Error when
// `path` does not exist or holds no result at all.
StudyResults load_study(const std::filesystem::path& path);

// Adds one parsed document (any of the three schemas) to `study`; `name` names it in warnings.
// Throws libscout::Error when the document is not one of them.
void add_document(StudyResults& study, const nlohmann::json& document, const std::string& name);

}  // namespace libscout::report
