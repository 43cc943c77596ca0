#include "study/results_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "placement/plan_file.h"
#include "study/pooling.h"

namespace libscout::study {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string strip_prefix(std::string s) {
  for (const char* p : {"libscout: error: ", "libscout: internal error: "}) {
    if (s.rfind(p, 0) == 0) return s.substr(std::strlen(p));
  }
  return s;
}

std::string csv_field(const json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  return s;
}

const json& at_or_null(const json& j, std::initializer_list<const char*> path) {
  static const json null;
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return null;
    cur = &(*cur)[k];
  }
  return *cur;
}

}  // namespace

void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write '" + tmp.string() + "': " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw Error("cannot write '" + tmp.string() + "': " + why);
    }
    off += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error("cannot write '" + path.string() + "': " + ec.message());
  const int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

bool ResultsFile::exists() const {
  std::error_code ec;
  return fs::exists(path_, ec);
}

void ResultsFile::load() {
  std::ifstream f(path_);
  if (!f) throw Error("cannot read '" + path_.string() + "'");
  try {
    doc_ = json::parse(f);
  } catch (const json::exception& e) {
    throw Error("'" + path_.string() + "' is not valid JSON (" + e.what() + "); move it away to " +
                "start a new study");
  }
  if (doc_.value("schema", "") != "libscout.study/1") {
    throw Error("'" + path_.string() + "' is not a libscout.study/1 document");
  }
}

void ResultsFile::start(const json& device, const json& plan_fields) {
  doc_ = {{"schema", "libscout.study/1"}, {"device", device},   {"started", now_utc()},
          {"updated", now_utc()},         {"libraries", json::object()},
          {"steps", json::array()},       {"gemm", json::array()}, {"runs", json::array()},
          {"plans", json::array()}};
  for (const auto& [k, v] : plan_fields.items()) doc_[k] = v;
  save();
}

void ResultsFile::check_same_config(const json& config) const {
  const json saved = doc_.value("config", json::object());
  std::set<std::string> keys;
  for (const auto& [k, v] : saved.items()) keys.insert(k);
  for (const auto& [k, v] : config.items()) keys.insert(k);
  std::string differences;
  for (const std::string& k : keys) {
    const json was = saved.value(k, json()), now = config.value(k, json());
    if (was == now) continue;
    differences += (differences.empty() ? "" : "; ") + k + " was " +
                   (saved.contains(k) ? was.dump() : std::string("not recorded")) + ", now " +
                   (config.contains(k) ? now.dump() : std::string("not given"));
  }
  if (!differences.empty()) {
    throw Error("--resume: the study in '" + path_.parent_path().string() +
                "' was started with other options (" + differences + "); resume it with the "
                "same options, or choose another --out");
  }
}

std::set<std::string> ResultsFile::finished_steps() const {
  std::set<std::string> keys;
  for (const json& s : doc_.value("steps", json::array())) keys.insert(s.value("key", ""));
  return keys;
}

namespace {

json read_results(const fs::path& raw) {
  std::ifstream f(raw);
  if (!f) return json::array();
  try {
    const json produced = json::parse(f);
    return produced.is_object() ? produced.value("results", json::array()) : json::array();
  } catch (const json::exception&) {
    return json::array();  // a half-written file (the child died while writing): ignored
  }
}

// A row's status from its own fields: "ok", or "invalid" with the reason when its output
// differed from the reference (before or after timing). `status`/`reason` hold the step's.
std::pair<std::string, std::string> row_status(const json& row, const std::string& status,
                                               const std::string& reason) {
  std::string s = status == "ok" ? row.value("status", status) : status;
  std::string why = status == "ok" ? row.value("reason", reason) : reason;
  if (s == "ok" && at_or_null(row, {"validation", "passed"}) == false) {
    const bool after = at_or_null(row, {"validation", "failed_after_timing"}) == true;
    std::ostringstream os;
    os << "output differs from the reference" << (after ? " after timing" : "")
       << ": relative L2 error "
       << at_or_null(row, {"validation", after ? "rel_l2_error_after_timing" : "rel_l2_error"})
              .dump()
       << " > bound " << at_or_null(row, {"validation", "tolerance"}).dump();
    s = "invalid";
    why = os.str();
  }
  return {s, why};
}

json* json_pointer_or_null(json& j, const char* pointer) {
  const json::json_pointer ptr(pointer);
  return j.contains(ptr) ? &j[ptr] : nullptr;
}

}  // namespace

std::string ResultsFile::add_step(const StepRecord& step) {
  if (step.kind == "plan") return add_plan_step(step);
  const json rows = read_results(step.raw);
  const ChildResult& child = step.child;
  std::string status = "ok";
  last_reason_.clear();
  if (rows.empty()) {
    status = "failed";
    last_reason_ = child.ok() ? "the measurement wrote no result" : strip_prefix(child.describe());
  } else if (!child.ok() && !(child.exit_code == 1 && child.signal == 0 && !child.timed_out)) {
    // Exit status 1 with results written: a result failed validation, which its row says.
    status = "failed";
    last_reason_ = strip_prefix(child.describe());
  }
  if (step.kind == "gemm") {
    add_gemm_rows(step, rows, status);
  } else {
    add_run_round(step, rows, status);
  }
  record_step(step, status);
  return status;
}

void ResultsFile::add_gemm_rows(const StepRecord& step, const json& rows, std::string& status) {
  json& table = doc_["gemm"];
  if (rows.empty()) {
    json row = step.identity;
    row["step"] = step.key;
    row["status"] = status;
    row["reason"] = last_reason_;
    table.push_back(row);
  }
  for (json row : rows) {
    row["step"] = step.key;
    row["threads_requested"] = step.identity.value("threads_requested", json());
    const auto [s, why] = row_status(row, status, last_reason_);
    if ((s == "invalid" || s == "failed") && status == "ok") {
      status = s;
      last_reason_ = why;
    }
    row["status"] = s;
    row["reason"] = why;
    note_libraries(row);
    table.push_back(std::move(row));
  }
}

void ResultsFile::add_run_round(const StepRecord& step, const json& rows, std::string& status) {
  json result = rows.empty() ? json() : rows[0];
  // The study hands its children absolute paths; results.json names the study's own files (an
  // auto row's plan) relative to the study folder, so it stays right when the folder moves.
  if (json* plan = result.is_object() ? json_pointer_or_null(result, "/settings/plan") : nullptr;
      plan != nullptr && plan->is_string()) {
    const fs::path rel = fs::path(plan->get<std::string>())
                             .lexically_relative(fs::absolute(path_).parent_path());
    if (!rel.empty() && *rel.begin() != "..") *plan = rel.generic_string();
  }
  if (!rows.empty()) {
    const auto [s, why] = row_status(result, status, last_reason_);
    status = s;
    last_reason_ = why;
    note_libraries(result);
  }
  add_round(row_of(step), round_entry(step.round, step.key, status, last_reason_, result), result,
            doc_["config"].value("seed", std::uint64_t{1}));
}

// The row a run step measures in runs[], added (naming what it measures) when it is the first.
json& ResultsFile::row_of(const StepRecord& step) {
  json& table = doc_["runs"];
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const json& r) { return r.value("step", "") == step.row; });
  if (it != table.end()) return *it;
  json row = step.identity;
  row["step"] = step.row;
  table.push_back(std::move(row));
  return table.back();
}

void ResultsFile::skip_step(const StepRecord& step, const std::string& reason,
                            const std::string& status) {
  last_reason_ = reason;
  add_round(row_of(step), round_entry(step.round, step.key, status, reason, json()), json(),
            doc_["config"].value("seed", std::uint64_t{1}));
  record_step(step, status);
}

namespace {

json contender_figures(const placement::Contender& c) {
  return {{"name", c.name},
          {"median_ms", c.median_ms},
          {"ci_low_ms", c.ci_low_ms},
          {"ci_high_ms", c.ci_high_ms},
          {"predicted_ms", c.predicted_ms >= 0 ? json(c.predicted_ms) : json()}};
}

// What the planner chose, the fastest single backend of its final comparison, and the chosen
// one's speed-up over it (ratio of medians; the interval from the near to the far ends of the
// two 95% intervals, as Table 2's ratios).
void add_plan_summary(json& entry, const placement::Plan& plan) {
  const placement::Contender *chosen = nullptr, *single = nullptr;
  for (const placement::Contender& c : plan.contenders) {
    if (c.name == plan.chosen) chosen = &c;
    const bool mix = c.name.rfind("plan", 0) == 0;
    if (!mix && (single == nullptr || c.median_ms < single->median_ms)) single = &c;
  }
  entry["chosen"] = plan.chosen;
  entry["chosen_figures"] = chosen ? contender_figures(*chosen) : json();
  entry["best_single"] = single ? contender_figures(*single) : json();
  entry["speedup_over_best_single"] = entry["speedup_over_best_single_interval"] = nullptr;
  if (chosen != nullptr && single != nullptr && chosen->median_ms > 0 && chosen->ci_low_ms > 0) {
    entry["speedup_over_best_single"] = single->median_ms / chosen->median_ms;
    entry["speedup_over_best_single_interval"] = {single->ci_low_ms / chosen->ci_high_ms,
                                                  single->ci_high_ms / chosen->ci_low_ms};
  }
  json document = placement::plan_json(plan);
  document.erase("device");  // the study's own
  entry["plan"] = std::move(document);
}

}  // namespace

// A plan step: its entry in plans[] (the plan itself when the planner wrote one) and its step.
std::string ResultsFile::add_plan_step(const StepRecord& step) {
  json entry = step.identity;
  entry["step"] = step.key;
  std::string status = "ok";
  last_reason_.clear();
  std::optional<placement::Plan> plan;
  std::error_code ec;
  if (!step.child.ok()) {
    last_reason_ = strip_prefix(step.child.describe());
  } else if (!fs::exists(step.raw, ec)) {
    last_reason_ = "the planner wrote no plan";
  } else {
    try {
      plan = placement::read_plan(step.raw.string());
    } catch (const Error& e) {
      last_reason_ = std::string("the planner's file is not a plan: ") + e.what();
    }
  }
  if (!plan) status = "failed";
  entry["status"] = status;
  entry["reason"] = last_reason_;
  entry["wall_s"] = step.child.wall_s;
  if (plan) {
    add_plan_summary(entry, *plan);
    note_libraries({{"library_versions", plan->library_versions}});
  }
  json& plans = doc_["plans"];
  if (!plans.is_array()) plans = json::array();
  for (auto it = plans.begin(); it != plans.end(); ++it) {
    if (it->value("step", "") == step.key) {
      plans.erase(it);
      break;
    }
  }
  plans.push_back(std::move(entry));
  record_step(step, status);
  return status;
}

std::string ResultsFile::plan_missing(const std::string& plan_step) const {
  if (plan_step.empty()) return {};
  const auto plans = doc_.find("plans");
  if (plans != doc_.end() && plans->is_array()) {
    for (const json& p : *plans) {
      if (p.value("step", "") != plan_step) continue;
      if (p.value("status", "") == "ok") return {};
      return "no plan to run: the plan step " + plan_step + " failed: " + p.value("reason", "");
    }
  }
  return "no plan to run: the plan step " + plan_step + " has not run";
}

const json* ResultsFile::run_row(const std::string& row_key) const {
  const auto runs = doc_.find("runs");
  if (runs == doc_.end() || !runs->is_array()) return nullptr;
  for (const json& r : *runs) {
    if (r.value("step", "") == row_key) return &r;
  }
  return nullptr;
}

void ResultsFile::record_step(const StepRecord& step, const std::string& status) {
  doc_["steps"].push_back({{"key", step.key},
                           {"kind", step.kind},
                           {"status", status},
                           {"reason", last_reason_},
                           {"wall_s", step.child.wall_s},
                           {"busy_cores_before",
                            step.busy_cores_before >= 0 ? json(step.busy_cores_before) : json()},
                           {"finished", now_utc()}});
  doc_["updated"] = now_utc();
  save();
}

// The study's `libraries`: provider name or library backend name -> version, as reported.
void ResultsFile::note_libraries(const json& row) {
  json& libs = doc_["libraries"];
  if (!libs.is_object()) libs = json::object();
  auto note = [&](const std::string& name, const json& version) {
    if (!version.is_string() || version.get<std::string>().empty()) return;
    libs[name.rfind("gemm:", 0) == 0 ? name.substr(5) : name] = version;
  };
  if (row.contains("provider")) note(row.value("provider", ""), row.value("version", json()));
  const json versions = row.value("library_versions", json::object());
  for (const auto& [backend, version] : versions.items()) note(backend, version);
}

void ResultsFile::finish() {
  doc_["finished"] = now_utc();
  save();
}

void ResultsFile::save() const { write_atomically(path_, doc_.dump(1) + "\n"); }

void ResultsFile::write_csv(const fs::path& path) const {
  std::ostringstream os;
  os << "kind,model,backend_or_provider,threads,batch,size,status,median_ms,gflops,"
        "mj_per_inference,avg_power_w,rel_l2_error,reason,threads_requested,ci_low_ms,"
        "ci_high_ms,rounds_ok,busy,fallback_time_share\n";
  for (const json& r : doc_.value("runs", json::array())) {
    const json& median = at_or_null(r, {"latency_ms", "median"});
    json gflops = nullptr;
    if (median.is_number() && r.contains("macs")) {
      gflops = 2.0 * r["macs"].get<double>() / (median.get<double>() * 1e6);
    }
    os << "run," << csv_field(r.value("model", json())) << ','
       << csv_field(r.value("backend", json())) << ',' << csv_field(r.value("threads", json()))
       << ',' << csv_field(r.value("batch", json())) << ",," << csv_field(r.value("status", json()))
       << ',' << csv_field(median) << ',' << csv_field(gflops) << ','
       << csv_field(at_or_null(r, {"energy", "mj_per_inference"})) << ','
       << csv_field(at_or_null(r, {"energy", "avg_power_w"})) << ','
       << csv_field(at_or_null(r, {"validation", "rel_l2_error"})) << ','
       << csv_field(r.value("reason", json())) << ','
       << csv_field(r.value("threads_requested", json())) << ','
       << csv_field(at_or_null(r, {"latency_ms", "ci_low"})) << ','
       << csv_field(at_or_null(r, {"latency_ms", "ci_high"})) << ','
       << csv_field(r.value("rounds_ok", json())) << ',' << csv_field(r.value("busy", json()))
       << ',' << csv_field(r.value("fallback_time_share", json())) << '\n';
  }
  for (const json& r : doc_.value("gemm", json::array())) {
    os << "gemm,," << csv_field(r.value("provider", json())) << ','
       << csv_field(r.value("threads", json())) << ",," << csv_field(r.value("m", json())) << ','
       << csv_field(r.value("status", json())) << ','
       << csv_field(at_or_null(r, {"time_ms", "median"})) << ','
       << csv_field(r.value("gflops", json())) << ",,,"
       << csv_field(at_or_null(r, {"validation", "rel_error"})) << ','
       << csv_field(r.value("reason", json())) << ','
       << csv_field(r.value("threads_requested", json())) << ",,,,,\n";
  }
  write_atomically(path, os.str());
}

}  // namespace libscout::study
