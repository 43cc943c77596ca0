#include "report/study_results.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace libscout::report {

using nlohmann::json;

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

std::optional<double> RunRow::ms_per_inference() const {
  if (!latency_ms) return std::nullopt;
  return latency_ms->median / static_cast<double>(batch > 0 ? batch : 1);
}

bool RunRow::rankable() const {
  return status == RowStatus::ok && validation_passed.value_or(false) && latency_ms.has_value();
}

bool StudyResults::has_energy() const {
  for (const auto& run : runs)
    if (run.energy) return true;
  return false;
}

namespace {

// Field readers that treat a missing key and null alike, and name the field when the type is wrong.
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) throw Error(where_ + " is not a JSON object");
  }

  const json* find(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<double> number(const char* key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) throw bad(key, "a number");
    return value->get<double>();
  }

  std::optional<long long> integer(const char* key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) throw bad(key, "an integer");
    return static_cast<long long>(value->get<double>());
  }

  int integer_or(const char* key, int fallback) const {
    auto value = integer(key);
    return value ? static_cast<int>(*value) : fallback;
  }

  std::optional<std::string> text(const char* key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_string()) throw bad(key, "a string");
    return value->get<std::string>();
  }

  std::optional<bool> boolean(const char* key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_boolean()) throw bad(key, "true or false");
    return value->get<bool>();
  }

  std::optional<Fields> object(const char* key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    return Fields(*value, where_ + "." + key);
  }

  const std::string& where() const { return where_; }

 private:
  Error bad(const char* key, const char* expected) const {
    return Error(where_ + "." + key + " should be " + expected);
  }

  const json& object_;
  std::string where_;
};

namespace fs = std::filesystem;

// The status a file states, if any. An unknown word is kept as a failure with the word as reason,
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

// A number, or an object of statistics of which the median (else the mean) is the value.
std::optional<double> number_or_median(const Fields& f, const char* key) {
  const json* value = f.find(key);
  if (!value) return std::nullopt;
  if (value->is_number()) return value->get<double>();
  if (value->is_object()) {
    const Fields stats(*value, f.where() + "." + key);
    if (auto median = stats.number("median")) return median;
    return stats.number("mean");
  }
  throw Error(f.where() + "." + key + " should be a number or an object with a median");
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
  device.board_model = f.text("board");
  if (!device.board_model) device.board_model = f.text("board_model");
  if (const json* clusters = f.find("clusters")) device.clusters = *clusters;
  if (const json* cpus = f.find("cores_used")) device.cpus_used = *cpus;
  if (const json* cpus = f.find("cpus_used")) device.cpus_used = *cpus;
  if (auto name = f.text("name"); name && !name->empty()) {
    device.label = *name;
  } else if (device.board_model && !device.board_model->empty()) {
    device.label = *device.board_model;
  } else if (!device.cpu_model.empty()) {
    device.label = device.cpu_model;
  } else {
    device.label = "unnamed device";
  }
  return device;
}

GemmRow parse_gemm_row(const Fields& f) {
  GemmRow row;
  row.provider = f.text("provider").value_or("?");
  row.m = f.integer_or("m", f.integer_or("size", 0));
  row.n = f.integer_or("n", row.m);
  row.k = f.integer_or("k", row.m);
  row.threads = f.integer_or("threads", 0);
  row.gflops = number_or_median(f, "gflops");
  row.gflops_with_transfer = number_or_median(f, "gflops_with_transfer");
  std::optional<double> error, tolerance;
  if (auto validation = f.object("validation")) {
    row.validation_passed = validation->boolean("passed");
    error = validation->number("rel_error");
    if (!error) error = validation->number("rel_l2_error");
    tolerance = validation->number("tolerance");
  }
  row.reason = f.text("reason").value_or("");
  row.status = row_status(f, row.validation_passed, row.gflops.has_value(), error, tolerance,
                          "no throughput recorded", row.reason);
  return row;
}

// Energy per inference in mJ from either spelling: mj_per_inference, or joules_per_inference.
std::optional<double> millijoules(const Fields& f, const char* mj_key, const char* j_key) {
  if (auto mj = f.number(mj_key)) return mj;
  if (auto j = f.number(j_key)) return *j * 1e3;
  return std::nullopt;
}

EnergyMeasurement parse_energy(const Fields& f) {
  EnergyMeasurement energy;
  energy.meter = f.text("meter").value_or("unnamed meter");
  energy.window_s = f.number("window_s");
  if (!energy.window_s) energy.window_s = f.number("seconds");
  energy.inferences = f.integer("inferences");
  energy.avg_power_w = f.number("avg_power_w");
  energy.idle_power_w = f.number("idle_power_w");
  energy.mj_per_inference = millijoules(f, "mj_per_inference", "joules_per_inference");
  energy.net_mj_per_inference = millijoules(f, "net_mj_per_inference", "net_joules_per_inference");
  if (!energy.avg_power_w && energy.mj_per_inference && energy.inferences && energy.window_s &&
      *energy.window_s > 0) {
    energy.avg_power_w = *energy.mj_per_inference * 1e-3 * static_cast<double>(*energy.inferences) /
                         *energy.window_s;
  }
  if (const json* rails = f.find("rails")) {
    auto add_rail = [&](const std::string& name, const json& value, const std::string& where) {
      if (value.is_null()) return;
      const Fields rail(value, where);
      energy.rails.push_back({name, rail.number("avg_power_w"),
                              millijoules(rail, "mj_per_inference", "joules_per_inference")});
    };
    if (rails->is_object()) {
      for (const auto& [name, value] : rails->items())
        add_rail(name, value, f.where() + ".rails." + name);
    } else if (rails->is_array()) {
      for (std::size_t i = 0; i < rails->size(); ++i) {
        const std::string where = f.where() + ".rails[" + std::to_string(i) + "]";
        const json& value = (*rails)[i];
        add_rail(Fields(value, where).text("name").value_or("rail " + std::to_string(i)), value,
                 where);
      }
    } else {
      throw Error(f.where() + ".rails should be an object or a list of rails");
    }
  }
  return energy;
}

RunRow parse_run_row(const Fields& f) {
  RunRow row;
  row.model = f.text("model").value_or("?");
  row.backend = f.text("backend").value_or("?");
  row.threads = f.integer_or("threads", 0);
  row.batch = std::max(1, f.integer_or("batch", 1));
  row.iterations = f.integer("iterations");
  row.busy_cores_at_start = f.number("busy_cores_at_start");
  if (auto latency = f.object("latency_ms")) {
    // A latency without its median is no measurement.
    if (auto median = latency->number("median")) {
      row.latency_ms = LatencyStats{latency->number("min").value_or(*median), *median,
                                    latency->number("mean").value_or(*median),
                                    latency->number("p90").value_or(*median),
                                    latency->number("p99").value_or(*median),
                                    latency->number("stddev").value_or(0)};
    }
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

// A manifest entry that names a file: read it, and let the entry's status override a file that
// says ok (the step may have failed after writing, e.g. killed at the time limit).
void add_manifest_entry(StudyResults& study, const Fields& entry, const fs::path& dir) {
  const std::string file = *entry.text("file");
  std::string reason = entry.text("reason").value_or("");
  const std::optional<RowStatus> status = stated_status(entry, reason);
  const std::string kind = entry.text("kind").value_or("model");

  std::string problem;
  std::optional<json> document;
  if (!file.empty()) document = read_json(dir / file, problem);
  if (document && document->is_object() && document->value("schema", "") == kStudySchema) {
    problem = "is itself a study manifest";
    document.reset();
  }
  if (document) {
    const std::size_t runs_before = study.runs.size(), gemm_before = study.gemm.size();
    try {
      add_document(study, *document, file, dir);
    } catch (const Error& e) {
      problem = e.what();
      document.reset();
    }
    if (document) {
      study.files.push_back(file);
      if (status && *status != RowStatus::ok) {
        for (std::size_t i = runs_before; i < study.runs.size(); ++i) {
          study.runs[i].status = *status;
          if (!reason.empty()) study.runs[i].reason = reason;
        }
        for (std::size_t i = gemm_before; i < study.gemm.size(); ++i) {
          study.gemm[i].status = *status;
          if (!reason.empty()) study.gemm[i].reason = reason;
        }
      }
      return;
    }
  }
  // No readable file: a row that says what was attempted and why it has no result.
  const bool said_ok = !status || *status == RowStatus::ok;
  if (said_ok) {
    study.warnings.push_back(entry.where() + ": " + file + " " + problem + "; entry skipped");
    return;
  }
  if (kind == "gemm") {
    GemmRow row;
    row.provider = entry.text("provider").value_or(file);
    row.m = entry.integer_or("m", 0);
    row.n = entry.integer_or("n", row.m);
    row.k = entry.integer_or("k", row.m);
    row.threads = entry.integer_or("threads", 0);
    row.status = *status;
    row.reason = reason;
    study.gemm.push_back(row);
  } else {
    RunRow row;
    row.model = entry.text("model").value_or(file);
    row.backend = entry.text("backend").value_or("?");
    row.threads = entry.integer_or("threads", 0);
    row.batch = std::max(1, entry.integer_or("batch", 1));
    row.status = *status;
    row.reason = reason;
    study.runs.push_back(row);
  }
}

void add_manifest(StudyResults& study, const Fields& f, const std::string& name,
                  const fs::path& dir) {
  if (const json* libraries = f.find("libraries"); libraries && libraries->is_object()) {
    for (const auto& [library, version] : libraries->items())
      study.libraries[library] = version.is_string() ? version.get<std::string>()
                                 : version.is_null() ? std::string("unknown")
                                                     : version.dump();
  }
  if (const json* settings = f.find("settings")) study.settings = *settings;
  else if (const json* config = f.find("config")) study.settings = *config;

  // "runs" holds entries that name a result file, or rows written inline (as in libscout.run/1
  // results, with status and reason); "gemm" holds inline libscout.gemm/1 rows.
  if (const json* runs = f.find("runs")) {
    if (!runs->is_array()) {
      study.warnings.push_back(name + ".runs is not a list; skipped");
    } else {
      for (std::size_t i = 0; i < runs->size(); ++i) {
        const std::string where = name + ".runs[" + std::to_string(i) + "]";
        try {
          const Fields entry((*runs)[i], where);
          if (entry.text("file")) {
            add_manifest_entry(study, entry, dir);
          } else if (entry.text("kind").value_or("") == "gemm") {
            study.gemm.push_back(parse_gemm_row(entry));
          } else {
            study.runs.push_back(parse_run_row(entry));
          }
        } catch (const Error& e) {
          study.warnings.push_back(std::string(e.what()) + "; entry skipped");
        }
      }
    }
  }
  parse_rows<GemmRow>(f, "gemm", parse_gemm_row, study.gemm, study.warnings);
}

}  // namespace

void add_document(StudyResults& study, const json& document, const std::string& name,
                  const fs::path& dir) {
  const Fields f(document, name);
  const auto schema = f.text("schema");
  if (!schema) throw Error(name + " has no \"schema\": not a libscout result");
  set_device(study, f, name);
  if (*schema == kStudySchema) {
    add_manifest(study, f, name, dir);
  } else if (*schema == kRunSchema) {
    parse_rows<RunRow>(f, "results", parse_run_row, study.runs, study.warnings);
  } else if (*schema == kGemmSchema) {
    parse_rows<GemmRow>(f, "results", parse_gemm_row, study.gemm, study.warnings);
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

  auto add_file = [&](const fs::path& file, const std::string& name) {
    std::string problem;
    auto document = read_json(file, problem);
    if (!document) {
      study.warnings.push_back(name + " " + problem + "; skipped");
      return;
    }
    try {
      add_document(study, *document, name, file.parent_path());
      study.files.push_back(name);
    } catch (const Error& e) {
      study.warnings.push_back(std::string(e.what()) + "; skipped");
    }
  };

  if (!fs::is_directory(path, error)) {
    add_file(path, path.filename().string());
  } else {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, error))
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    if (error) throw Error("cannot list " + path.string() + ": " + error.message());
    std::sort(files.begin(), files.end());

    // The manifest: results.json, else study.json, else the first other study document.
    std::optional<fs::path> manifest;
    std::vector<fs::path> others;
    for (const auto& file : files) {
      std::string problem;
      auto document = read_json(file, problem);
      const std::string schema =
          document && document->is_object() && (*document)["schema"].is_string()
              ? (*document)["schema"].get<std::string>()
              : "";
      if (schema == kReportSchema) continue;  // a report written into the study directory
      if (schema == kStudySchema) {
        const std::string name = file.filename().string();
        if (!manifest || name == "results.json" ||
            (name == "study.json" && manifest->filename() != "results.json"))
          manifest = file;
      }
      others.push_back(file);
    }
    if (manifest) {
      add_file(*manifest, manifest->filename().string());
    } else {
      for (const auto& file : others) add_file(file, file.filename().string());
    }
  }
  if (study.device.raw.is_null()) study.device.label = path.filename().empty()
                                                           ? path.parent_path().filename().string()
                                                           : path.filename().string();
  if (study.runs.empty() && study.gemm.empty()) {
    std::string why = study.warnings.empty() ? std::string("no result files")
                                             : study.warnings.front();
    throw Error(path.string() + " holds no libscout results (" + why + ")");
  }
  return study;
}

}  // namespace libscout::report
