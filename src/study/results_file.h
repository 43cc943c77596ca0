// DIR/results.json of a study (schema libscout.study/1, docs/json-schemas.md): the device, the
// configuration, every finished step, the rows they produced and the plans of `auto`. Saved atomically (temporary
// file, fsync, rename) after every step, so an interrupted study loses nothing it finished and
// --resume knows exactly which steps are done.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "study/child_process.h"

namespace libscout::study {

class ResultsFile {
 public:
  explicit ResultsFile(std::filesystem::path path) : path_(std::move(path)) {}

  bool exists() const;
  void load();  // throws Error when the file is not a libscout.study/1 document
  // A new study: the device, and the plan's config, method, round_order and not_swept.
  void start(const nlohmann::json& device, const nlohmann::json& plan_fields);
  // For --resume: throws Error naming every option whose saved value differs from `config`'s.
  void check_same_config(const nlohmann::json& config) const;

  std::set<std::string> finished_steps() const;

  // One finished step: what it measured and how its child ended.
  struct StepRecord {
    std::string key, kind;
    std::string row;  // run steps: the row key ("run/m/b/t1"); "" for gemm steps
    int round = 0;
    nlohmann::json identity;
    std::filesystem::path raw;  // the JSON the child wrote, if any
    ChildResult child;
    double busy_cores_before = -1;  // other work seen just before the step (-1 unknown)
  };
  // Records a finished step (a run step goes into its row's rounds), saves the file, and returns
  // the step's status: "ok", "invalid" (failed validation), "failed" or "skipped".
  std::string add_step(const StepRecord& step);
  // Records a run step that was not run, with the reason: "skipped" (a slow row's later rounds)
  // or "failed" (an `auto` row whose plan step failed).
  void skip_step(const StepRecord& step, const std::string& reason,
                 const std::string& status = "skipped");
  // Why the plan of plan step `plan_step` cannot be run ("" when its step ended ok, or when
  // `plan_step` is empty: a step that runs no plan).
  std::string plan_missing(const std::string& plan_step) const;
  // The row of this key in runs[], or nullptr.
  const nlohmann::json* run_row(const std::string& row_key) const;
  const std::string& last_reason() const { return last_reason_; }
  // Marks the study finished (every planned step done) and saves.
  void finish();

  const nlohmann::json& document() const { return doc_; }
  void write_csv(const std::filesystem::path& path) const;

 private:
  void save() const;
  void record_step(const StepRecord& step, const std::string& status);
  void add_gemm_rows(const StepRecord& step, const nlohmann::json& rows, std::string& status);
  void add_run_round(const StepRecord& step, const nlohmann::json& rows, std::string& status);
  std::string add_plan_step(const StepRecord& step);
  nlohmann::json& row_of(const StepRecord& step);
  void note_libraries(const nlohmann::json& row);

  std::filesystem::path path_;
  nlohmann::json doc_;
  std::string last_reason_;
};

// Writes `text` to `path` through a temporary file, fsync and rename.
void write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace libscout::study
