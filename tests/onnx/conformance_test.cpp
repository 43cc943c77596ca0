// ONNX's conformance cases for every operator libscout imports, on every available backend
// (conformance.h says how a case runs). Prints the table that README.md quotes: per operator,
// the cases run, passed (on every backend) and declined, with the reasons. Fails when a case
// that imports gives a wrong output on any backend, or when a case is refused for any reason
// other than a documented limit (UnsupportedModel). Skips, saying why, without the data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "support/backend_check.h"
#include "tests/onnx/conformance.h"

namespace libscout {
namespace {

namespace fs = std::filesystem;
using conformance::CaseResult;

std::string data_dir() {
  if (const char* env = std::getenv("LIBSCOUT_ONNX_TESTDATA")) return env;
  return LIBSCOUT_ONNX_TESTDATA_DIR;
}

// Every available backend, after the reference. Under qemu-user (LIBSCOUT_EMULATED) of the gemm:
// backends only gemm:native: they share the im2col path and differ only in the SGEMM, which
// tests/gemm_sweep (provider_edge_test) checks on every provider; every backend with operator code
// of its own (native, xnnpack, armcl-neon, onednn where it exists) still runs every case.
std::vector<std::string> conformance_backends() {
  std::vector<std::string> backends = {"reference"};
  for (const std::string& b : testing::available_backends()) {
#ifdef LIBSCOUT_EMULATED
    if (b.rfind("gemm:", 0) == 0 && b != "gemm:native") continue;
#endif
    backends.push_back(b);
  }
  return backends;
}

struct Row {
  int cases = 0, passed = 0, declined = 0, failed = 0;
  std::map<std::string, int> reasons;
};

std::string table(const std::vector<std::pair<std::string, Row>>& rows, std::size_t backends) {
  std::ostringstream os;
  os << "| suite: operator | cases | passed on all " << backends << " backends | declined | why declined |\n"
     << "| --- | ---: | ---: | ---: | --- |\n";
  Row total;
  for (const auto& [name, r] : rows) {
    std::string why;
    for (const auto& [reason, n] : r.reasons) why += (why.empty() ? "" : "; ") + reason + " (" + std::to_string(n) + ")";
    os << "| " << name << " | " << r.cases << " | " << r.passed << " | " << r.declined << " | " << why << " |\n";
    total.cases += r.cases, total.passed += r.passed, total.declined += r.declined, total.failed += r.failed;
  }
  os << "| **total** | " << total.cases << " | " << total.passed << " | " << total.declined << " | |\n";
  return os.str();
}

TEST(OnnxConformance, ImportedOperatorsMatchOnnxsExpectedOutputsOnEveryBackend) {
  const fs::path root = data_dir();
  if (!fs::is_directory(root / "node")) {
    GTEST_SKIP() << "ONNX's conformance data is not installed at " << root
                 << " (Debian package libonnx-testdata; or set LIBSCOUT_ONNX_TESTDATA)";
  }
  const std::vector<std::string> backends = conformance_backends();
  std::vector<std::pair<std::string, Row>> rows;
  std::vector<CaseResult> failures, refused;
  for (const conformance::Family& f : conformance::families()) {
    Row row;
    const std::regex pattern(f.regex);
    std::set<std::string> cases;
    for (const auto& e : fs::directory_iterator(root / f.suite)) {
      if (std::regex_match(e.path().filename().string(), pattern)) cases.insert(e.path().string());
    }
    for (const std::string& dir : cases) {
      CaseResult r = conformance::run_case(dir, backends);
      ++row.cases;
      if (r.declined) {
        ++row.declined;
        ++row.reasons[conformance::reason_key(r.reason)];
      } else if (r.failed_backends.empty()) {
        ++row.passed;
      } else {
        ++row.failed;
        failures.push_back(r);
      }
    }
    rows.emplace_back(f.suite + ": " + f.name, row);
  }
  const std::string t = table(rows, backends.size());
  std::cout << "backends: ";
  for (const std::string& b : backends) std::cout << b << " ";
  std::cout << "\n" << t;
  if (const char* out = std::getenv("LIBSCOUT_CONFORMANCE_TABLE")) std::ofstream(out) << t;
  for (const CaseResult& r : failures) {
    ADD_FAILURE() << r.name << " failed on " << r.failed_backends.size() << " of " << r.backends_run
                  << " backend(s): " << r.reason;
  }
  int passed = 0;
  for (const auto& [name, r] : rows) passed += r.passed;
  EXPECT_GT(passed, 0);
}

}  // namespace
}  // namespace libscout
