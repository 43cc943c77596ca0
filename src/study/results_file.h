// DIR/results.json of a study (schema libscout.study/1, docs/json-schemas.md): the device, the
// configuration, every finished step, and the rows they produced. Saved atomically (temporary
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
  void start(const nlohmann::json& device, const nlohmann::json& config);

  std::set<std::string> finished_steps() const;

  // Records a finished step from its child's result and the JSON it wrote (if any), saves the
  // file, and returns the step's status: "ok", "invalid" (failed validation) or "failed".
  std::string add_step(const std::string& key, const std::string& kind,
                       const nlohmann::json& identity, const std::filesystem::path& raw,
                       const ChildResult& child);
  const std::string& last_reason() const { return last_reason_; }
  // Marks the study finished (every planned step done) and saves.
  void finish();

  const nlohmann::json& document() const { return doc_; }
  void write_csv(const std::filesystem::path& path) const;

 private:
  void save() const;

  std::filesystem::path path_;
  nlohmann::json doc_;
  std::string last_reason_;
};

// Writes `text` to `path` through a temporary file, fsync and rename.
void write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace libscout::study
