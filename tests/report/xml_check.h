// Test helpers for the report: an XML well-formedness check (expat), file reading, temporary
// directories and the fixture paths.
#pragma once

#include <expat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "report/study_results.h"

namespace libscout::report::testing {

// Empty when `text` is well-formed XML, else "line L, column C: message".
inline std::string xml_error(const std::string& text) {
  XML_Parser parser = XML_ParserCreate("UTF-8");
  std::string error;
  if (XML_Parse(parser, text.data(), static_cast<int>(text.size()), 1) == XML_STATUS_ERROR) {
    error = "line " + std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
            std::to_string(XML_GetCurrentColumnNumber(parser)) + ": " +
            XML_ErrorString(XML_GetErrorCode(parser));
  }
  XML_ParserFree(parser);
  return error;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

inline std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(LIBSCOUT_TEST_DATA_DIR) / "report" / name;
}

// A fresh directory under the system's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("libscout-report-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const RunRow* find_run(const StudyResults& s, const std::string& model,
                              const std::string& backend, int threads) {
  for (const auto& r : s.runs)
    if (r.model == model && r.backend == backend && r.threads == threads) return &r;
  return nullptr;
}

}  // namespace libscout::report::testing
