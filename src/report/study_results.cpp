#include "report/study_results.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "report/json_fields.h"
#include "report/plan_section.h"

namespace libscout::report {

nlohmann::json interval_json(const std::optional<Interval>& ci, double scale) {
  return ci ? nlohmann::json::array({ci->lo * scale, ci->hi * scale}) : nlohmann::json(nullptr);
}

nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}


using nlohmann::json;
namespace fs = std::filesystem;

std::string to_string(RowStatus status) {
  switch (status) {
    case RowStatus::ok: return "ok";
    case RowStatus::failed: return "failed";
    case RowStatus::invalid: return "invalid";
    case RowStatus::crashed: return "crashed";
    case RowStatus::skipped: return "skipped";
  }
  return "failed";
}

std::string meter_coverage(const std::string& meter) {
  if (meter == "rapl") return "cpu";
  if (meter == "nvml") return "gpu";
  if (meter == "ina231" || meter == "hwmon" || meter == "external" ||
      meter.rfind("external:", 0) == 0)
    return "board";
  return "";
}

std::optional<double> RunRow::ms_per_inference() const {
  if (!latency_ms) return std::nullopt;
  return latency_ms->median / static_cast<double>(batch > 0 ? batch : 1);
}

std::optional<Interval> RunRow::ms_per_inference_ci() const {
  if (!latency_ms || !latency_ms->ci) return std::nullopt;
  const double per = static_cast<double>(batch > 0 ? batch : 1);
  return Interval{latency_ms->ci->lo / per, latency_ms->ci->hi / per};
}

bool RunRow::rankable() const {
  return status == RowStatus::ok && validation_passed.value_or(false) && latency_ms.has_value();
}

EnergyFigure RunRow::energy_figure() const {
  EnergyFigure figure;
  if (!energy) {  // why in full (energy_error) is told once, in the report's method
    figure.none = energy_error.empty()
                      ? std::string("energy was not measured")
                      : std::string("no power meter that sees the ") +
                            (device == "gpu" ? "GPU" : "CPU") + " (the method says why)";
    return figure;
  }
  if (!energy->mj_per_inference) {
    figure.none = "the " + energy->meter + " meter recorded no energy per inference";
    return figure;
  }
  const std::string& covers = energy->covers;
  if (covers.empty()) {
    figure.none = "the " + energy->meter + " meter does not say which device it measures";
    return figure;
  }
  if (covers != "board" && covers != device) {
    auto name = [](const std::string& d) {
      return d == "cpu" ? std::string("CPU") : d == "gpu" ? std::string("GPU") : d;
    };
    figure.none = "the " + energy->meter + " meter sees the " + name(covers) + ", not the " +
                  name(device) + " this backend ran on";
    return figure;
  }
  figure.mj_per_inference = energy->mj_per_inference;
  figure.ci = energy->mj_ci;
  return figure;
}

bool StudyResults::has_energy() const {
  for (const auto& run : runs)
    if (run.energy) return true;
  return false;
}

namespace {

// The status a row states, if any. An unknown word is kept as a failure with the word as reason,
// so a newer writer's status never makes a row rankable.
std::optional<RowStatus> stated_status(const Fields& f, std::string& reason) {
  const auto status = f.text("status");
  if (!status) return std::nullopt;
  if (*status == "ok") return RowStatus::ok;
  if (*status == "invalid") return RowStatus::invalid;
  if (*status == "failed") return RowStatus::failed;
  if (*status == "crashed") return RowStatus::crashed;
  if (*status == "skipped") return RowStatus::skipped;
  if (*status == "unavailable") {  // libscout.gemm/1: the provider does not load here
    reason = "unavailable" + (reason.empty() ? "" : ": " + reason);
    return RowStatus::skipped;
  }
  reason = "status \"" + *status + "\"" + (reason.empty() ? "" : ": " + reason);
  return RowStatus::failed;
}

std::string validation_reason(std::optional<double> error, std::optional<double> tolerance) {
  if (!error) return "output differs from the reference";
  char buffer[128];
  if (tolerance) {
    std::snprintf(buffer, sizeof buffer,
                  "output differs from the reference (relative L2 error %.3g > bound %.3g)",
                  *error, *tolerance);
  } else {
    std::snprintf(buffer, sizeof buffer,
                  "output differs from the reference (relative L2 error %.3g)", *error);
  }
  return buffer;
}

// A row's status: the one it states, else invalid when validation failed, failed when it has no
// measurement, ok otherwise; fills in `reason` when the row gives none.
RowStatus row_status(const Fields& f, std::optional<bool> validation_passed, bool measured,
                     std::optional<double> error, std::optional<double> tolerance,
                     const char* unmeasured_reason, std::string& reason) {
  RowStatus status = RowStatus::ok;
  if (auto stated = stated_status(f, reason)) {
    status = *stated;
  } else if (validation_passed == false) {
    status = RowStatus::invalid;
  } else if (!measured) {
    status = RowStatus::failed;
  }
  if (status == RowStatus::invalid && reason.empty()) reason = validation_reason(error, tolerance);
  if (status == RowStatus::failed && reason.empty() && !measured) reason = unmeasured_reason;
  return status;
}

DeviceInfo parse_device(const Fields& f, const json& raw) {
  DeviceInfo device;
  device.raw = raw;
  device.cpu_model = f.text("cpu_model").value_or("");
  if (auto cores = f.integer("cores")) device.cores = static_cast<int>(*cores);
  device.os = f.text("os").value_or("");
  device.compiler = f.text("compiler").value_or("");
  device.architecture = f.text("architecture").value_or("");
  device.board = f.text("board");
  if (const json* clusters = f.find("clusters")) device.clusters = *clusters;
  if (const json* cpus = f.find("cores_used")) device.cores_used = *cpus;
  if (auto name = f.text("name"); name && !name->empty()) {
    device.label = *name;
  } else if (device.board && !device.board->empty()) {
    device.label = *device.board;
  } else if (!device.cpu_model.empty()) {
    device.label = device.cpu_model;
  } else {
    device.label = "unnamed device";
  }
  return device;
}

// The median of a statistics object (libscout.gemm/1 writes gflops as a number).
std::optional<double> number_or_median(const Fields& f, const char* key) {
  const json* value = f.find(key);
  if (!value) return std::nullopt;
  if (value->is_number()) return value->get<double>();
  if (value->is_object()) return Fields(*value, f.where() + "." + key).number("median");
  throw Error(f.where() + "." + key + " should be a number");
}

GemmRow parse_gemm_row(const Fields& f) {
  GemmRow row;
  row.provider = f.text("provider").value_or("?");
  row.version = f.text("version").value_or("");
  row.m = f.integer_or("m", 0);
  row.n = f.integer_or("n", row.m);
  row.k = f.integer_or("k", row.m);
  row.threads = f.integer_or("threads", 0);
  if (auto asked = f.integer("threads_requested")) row.threads_requested = static_cast<int>(*asked);
  row.gflops = number_or_median(f, "gflops");
  row.gflops_with_transfer = number_or_median(f, "gflops_with_transfer");
  std::optional<double> error, tolerance;
  if (auto validation = f.object("validation")) {
    row.validation_passed = validation->boolean("passed");
    error = validation->number("rel_error");
    tolerance = validation->number("tolerance");
  }
  row.reason = f.text("reason").value_or("");
  row.status = row_status(f, row.validation_passed, row.gflops.has_value(), error, tolerance,
                          "no throughput recorded", row.reason);
  return row;
}

std::optional<Interval> interval(const Fields& f, const char* lo_key, const char* hi_key) {
  const auto lo = f.number(lo_key), hi = f.number(hi_key);
  if (!lo || !hi) return std::nullopt;
  return Interval{std::min(*lo, *hi), std::max(*lo, *hi)};
}

std::optional<LatencyStats> parse_latency(const Fields& f, const char* key) {
  auto latency = f.object(key);
  if (!latency) return std::nullopt;
  const auto median = latency->number("median");
  if (!median) return std::nullopt;  // a latency without its median is no measurement
  LatencyStats stats{latency->number("min").value_or(*median),
                     *median,
                     latency->number("mean").value_or(*median),
                     latency->number("p90").value_or(*median),
                     latency->number("p99").value_or(*median),
                     latency->number("stddev").value_or(0),
                     interval(*latency, "ci_low", "ci_high")};
  return stats;
}

EnergyMeasurement parse_energy(const Fields& f) {
  EnergyMeasurement energy;
  energy.meter = f.text("meter").value_or("unnamed meter");
  energy.covers = f.text("covers").value_or(meter_coverage(energy.meter));
  energy.window_s = f.number("window_s");
  energy.inferences = f.integer("inferences");
  energy.avg_power_w = f.number("avg_power_w");
  energy.idle_power_w = f.number("idle_power_w");
  energy.mj_per_inference = f.number("mj_per_inference");
  energy.net_mj_per_inference = f.number("net_mj_per_inference");
  energy.mj_ci = interval(f, "mj_per_inference_ci_low", "mj_per_inference_ci_high");
  energy.windows = f.integer("rounds");
  if (auto rails = f.object("rails")) {
    for (const auto& [name, value] : rails->json().items()) {
      if (value.is_null()) continue;
      const Fields rail(value, rails->where() + "." + name);
      energy.rails.push_back({name, rail.number("avg_power_w"), rail.number("mj_per_inference"),
                              rail.boolean("in_total").value_or(true)});
    }
  }
  return energy;
}

std::vector<RoundResult> parse_rounds(const Fields& f) {
  std::vector<RoundResult> rounds;
  const json* list = f.find("rounds");
  if (!list || !list->is_array()) return rounds;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Fields r((*list)[i], f.where() + ".rounds[" + std::to_string(i) + "]");
    RoundResult round;
    round.round = r.integer_or("round", static_cast<int>(i) + 1);
    round.reason = r.text("reason").value_or("");
    round.status = stated_status(r, round.reason).value_or(RowStatus::ok);
    round.median_ms = r.number("median_ms");
    round.busy_cores_at_start = r.number("busy_cores_at_start");
    round.remeasured = r.boolean("remeasured").value_or(false);
    rounds.push_back(round);
  }
  return rounds;
}

// What really ran: threads, library versions, the fallback and its share of the time.
void parse_what_ran(const Fields& f, RunRow& row) {
  row.threads = f.integer_or("threads", 0);
  if (auto asked = f.integer("threads_requested")) row.threads_requested = static_cast<int>(*asked);
  row.threads_source = f.text("threads_source").value_or("");
  row.device = f.find("device") && f.find("device")->is_string() ? *f.text("device") : "cpu";
  row.library_version = f.text("library_version").value_or("");
  row.library_versions = f.text_map("library_versions");
  row.backends_used = f.texts("backends_used");
  row.fallback_backend = f.text("fallback_backend").value_or("");
  row.fallback_layer_names = f.texts("fallback_layer_names");
  row.fallback_layers = f.integer_or("fallback_layers",
                                     static_cast<int>(row.fallback_layer_names.size()));
  row.fallback_time_share = f.number("fallback_time_share");
  if (const json* settings = f.find("settings")) row.settings = *settings;
}

RunRow parse_run_row(const Fields& f) {
  RunRow row;
  row.model = f.text("model").value_or("?");
  row.backend = f.text("backend").value_or("?");
  parse_what_ran(f, row);
  row.batch = std::max(1, f.integer_or("batch", 1));
  row.warmup = f.integer("warmup");
  row.iterations = f.integer("iterations");
  row.min_time_s = f.number("min_time_s");
  row.busy_cores_at_start = f.number("busy_cores_at_start");
  row.busy = f.boolean("busy");
  row.latency_ms = parse_latency(f, "latency_ms");
  row.device_time_ms = parse_latency(f, "device_time_ms");
  if (auto ci = f.object("ci")) {
    row.ci_method = ci->text("method").value_or("");
    row.ci_level = ci->number("level");
  }
  std::optional<double> tolerance;
  if (auto validation = f.object("validation")) {
    row.validation_passed = validation->boolean("passed");
    row.rel_l2_error = validation->number("rel_l2_error");
    tolerance = validation->number("tolerance");
  }
  row.reason = f.text("reason").value_or("");
  row.status = row_status(f, row.validation_passed, row.latency_ms.has_value(), row.rel_l2_error,
                          tolerance, "no latency recorded", row.reason);
  if (auto energy = f.object("energy")) row.energy = parse_energy(*energy);
  row.energy_error = f.text("energy_error").value_or("");
  row.rounds = parse_rounds(f);
  if (auto ok = f.integer("rounds_ok")) row.rounds_ok = static_cast<int>(*ok);
  return row;
}

// Parses each row of f[key]; a row that cannot be parsed is skipped with a warning.
template <typename Row, typename Parse>
void parse_rows(const Fields& f, const char* key, Parse parse, std::vector<Row>& rows,
                std::vector<std::string>& warnings) {
  const json* list = f.find(key);
  if (!list) return;
  if (!list->is_array()) {
    warnings.push_back(f.where() + "." + key + " is not a list of rows; skipped");
    return;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    try {
      rows.push_back(parse(Fields((*list)[i], f.where() + "." + key + "[" + std::to_string(i) + "]")));
    } catch (const Error& e) {
      warnings.push_back(std::string(e.what()) + "; row skipped");
    }
  }
}

std::optional<json> read_json(const fs::path& file, std::string& problem) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    problem = "cannot be read";
    return std::nullopt;
  }
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> from "parse error"
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    problem = "is not valid JSON (" + what + ")";
    return std::nullopt;
  }
}

void set_device(StudyResults& study, const Fields& f, const std::string& name) {
  const json* raw = f.find("device");
  if (!raw) return;
  DeviceInfo device = parse_device(Fields(*raw, name + ".device"), *raw);
  if (study.device.raw.is_null()) {
    study.device = std::move(device);
  } else if (device.cpu_model != study.device.cpu_model ||
             device.architecture != study.device.architecture) {
    study.warnings.push_back(name + " was measured on another device (" + device.label +
                             ") than the rest of " + study.source + " (" + study.device.label +
                             "); its rows are reported under " + study.device.label);
  }
}

// A libscout.run/1 document: its rows take the document's method (warm-up, timing rule) where
// they do not say it themselves; the first document's method stands for the study's.
void add_run_document(StudyResults& study, const Fields& f) {
  const std::size_t first = study.runs.size();
  parse_rows<RunRow>(f, "results", parse_run_row, study.runs, study.warnings);
  const json* method = f.find("method");
  if (!method || !method->is_object()) return;
  if (study.method.is_null()) study.method = *method;
  for (std::size_t i = first; i < study.runs.size(); ++i) {
    RunRow& row = study.runs[i];
    if (!row.min_time_s && (*method)["min_time_s"].is_number())
      row.min_time_s = (*method)["min_time_s"].get<double>();
    if (!row.warmup && (*method)["warmup"].is_number())
      row.warmup = (*method)["warmup"].get<long long>();
  }
}

void add_study_document(StudyResults& study, const Fields& f) {
  study.libraries = f.text_map("libraries");
  if (const json* config = f.find("config")) study.config = *config;
  if (const json* method = f.find("method")) study.method = *method;
  if (const json* not_swept = f.find("not_swept")) study.not_swept = *not_swept;
  parse_rows<RunRow>(f, "runs", parse_run_row, study.runs, study.warnings);
  parse_rows<GemmRow>(f, "gemm", parse_gemm_row, study.gemm, study.warnings);
  parse_rows<PlanResult>(f, "plans", parse_plan, study.plans, study.warnings);
  // Rows measured in rounds are timed by the study's warm-up and timing rule.
  for (RunRow& row : study.runs) {
    if (!row.warmup && study.method.is_object() && study.method["warmup"].is_number())
      row.warmup = study.method["warmup"].get<long long>();
  }
}

}  // namespace

void add_document(StudyResults& study, const json& document, const std::string& name) {
  const Fields f(document, name);
  const auto schema = f.text("schema");
  if (!schema) throw Error(name + " has no \"schema\": not a libscout result");
  set_device(study, f, name);
  if (*schema == kStudySchema) {
    add_study_document(study, f);
  } else if (*schema == kRunSchema) {
    add_run_document(study, f);
  } else if (*schema == kGemmSchema) {
    parse_rows<GemmRow>(f, "results", parse_gemm_row, study.gemm, study.warnings);
    if (const json* method = f.find("method"); method && study.method.is_null())
      study.method = json{{"gemm", *method}};
  } else {
    throw Error(name + " has schema \"" + *schema + "\"; expected " + kStudySchema + ", " +
                kRunSchema + " or " + kGemmSchema);
  }
}

StudyResults load_study(const fs::path& path) {
  StudyResults study;
  study.source = path.string();
  std::error_code error;
  if (!fs::exists(path, error)) throw Error(path.string() + " does not exist");

  auto add_file = [&](const fs::path& file, const std::string& name, const json& document) {
    try {
      add_document(study, document, name);
      study.files.push_back(name);
    } catch (const Error& e) {
      study.warnings.push_back(std::string(e.what()) + "; skipped");
    }
  };
  auto schema_of = [](const json& document) {
    return document.is_object() && document["schema"].is_string()
               ? document["schema"].get<std::string>()
               : std::string();
  };

  std::vector<fs::path> files;
  if (!fs::is_directory(path, error)) {
    files.push_back(path);
  } else {
    for (const auto& entry : fs::directory_iterator(path, error))
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    if (error) throw Error("cannot list " + path.string() + ": " + error.message());
    std::sort(files.begin(), files.end());
    // results.json first: when the directory holds a study, the study alone is read.
    std::stable_partition(files.begin(), files.end(),
                          [](const fs::path& f) { return f.filename() == "results.json"; });
  }
  std::vector<std::pair<fs::path, json>> documents;
  for (const auto& file : files) {
    std::string problem;
    auto document = read_json(file, problem);
    if (!document) {
      study.warnings.push_back(file.filename().string() + " " + problem + "; skipped");
      continue;
    }
    const std::string schema = schema_of(*document);
    if (schema == kReportSchema) continue;  // a report written into the study directory
    if (schema == kStudySchema) {
      add_file(file, file.filename().string(), *document);
      documents.clear();
      break;
    }
    documents.emplace_back(file, std::move(*document));
  }
  for (const auto& [file, document] : documents) add_file(file, file.filename().string(), document);

  if (study.device.raw.is_null())
    study.device.label = path.filename().empty() ? path.parent_path().filename().string()
                                                 : path.filename().string();
  if (study.runs.empty() && study.gemm.empty()) {
    std::string why = study.warnings.empty() ? std::string("no result files")
                                             : study.warnings.front();
    throw Error(path.string() + " holds no libscout results (" + why + ")");
  }
  return study;
}

}  // namespace libscout::report
