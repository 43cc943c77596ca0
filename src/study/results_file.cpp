#include "study/results_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.h"

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

void ResultsFile::start(const json& device, const json& config) {
  doc_ = {{"schema", "libscout.study/1"}, {"device", device},   {"config", config},
          {"started", now_utc()},         {"updated", now_utc()}, {"steps", json::array()},
          {"gemm", json::array()},        {"runs", json::array()}};
  save();
}

std::set<std::string> ResultsFile::finished_steps() const {
  std::set<std::string> keys;
  for (const json& s : doc_.value("steps", json::array())) keys.insert(s.value("key", ""));
  return keys;
}

std::string ResultsFile::add_step(const std::string& key, const std::string& kind,
                                  const json& identity, const fs::path& raw,
                                  const ChildResult& child) {
  json produced;
  {
    std::ifstream f(raw);
    if (f) {
      try {
        produced = json::parse(f);
      } catch (const json::exception&) {
        produced = nullptr;  // a half-written file (the child died while writing): ignored
      }
    }
  }
  const json rows = produced.is_object() ? produced.value("results", json::array()) : json::array();
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
  json& table = doc_[kind == "gemm" ? "gemm" : "runs"];
  if (rows.empty()) {
    json row = identity;
    row["step"] = key;
    row["status"] = status;
    row["reason"] = last_reason_;
    table.push_back(row);
  }
  for (json row : rows) {
    row["step"] = key;
    const bool valid = at_or_null(row, {"validation", "passed"}) != false;
    // A row may carry its own status (libscout.gemm/1: ok, failed, skipped, unavailable).
    std::string row_status = status == "ok" ? row.value("status", status) : status;
    std::string reason = status == "ok" ? row.value("reason", last_reason_) : last_reason_;
    if (row_status == "ok" && !valid) {
      row_status = "invalid";
      std::ostringstream os;
      os << "output differs from the reference: relative L2 error "
         << at_or_null(row, {"validation", "rel_l2_error"}).dump() << " > bound "
         << at_or_null(row, {"validation", "tolerance"}).dump();
      reason = os.str();
    }
    if ((row_status == "invalid" || row_status == "failed") && status == "ok") {
      status = row_status;
      last_reason_ = reason;
    }
    row["status"] = row_status;
    row["reason"] = reason;
    table.push_back(std::move(row));
  }
  doc_["steps"].push_back({{"key", key},
                           {"kind", kind},
                           {"status", status},
                           {"reason", last_reason_},
                           {"wall_s", child.wall_s},
                           {"finished", now_utc()}});
  doc_["updated"] = now_utc();
  save();
  return status;
}

void ResultsFile::finish() {
  doc_["finished"] = now_utc();
  save();
}

void ResultsFile::save() const { write_atomically(path_, doc_.dump(1) + "\n"); }

void ResultsFile::write_csv(const fs::path& path) const {
  std::ostringstream os;
  os << "kind,model,backend_or_provider,threads,batch,size,status,median_ms,gflops,"
        "mj_per_inference,avg_power_w,rel_l2_error,reason\n";
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
       << csv_field(r.value("reason", json())) << '\n';
  }
  for (const json& r : doc_.value("gemm", json::array())) {
    os << "gemm,," << csv_field(r.value("provider", json())) << ','
       << csv_field(r.value("threads", json())) << ",," << csv_field(r.value("m", json())) << ','
       << csv_field(r.value("status", json())) << ','
       << csv_field(at_or_null(r, {"time_ms", "median"})) << ','
       << csv_field(r.value("gflops", json())) << ",,,"
       << csv_field(at_or_null(r, {"validation", "rel_error"})) << ','
       << csv_field(r.value("reason", json())) << '\n';
  }
  write_atomically(path, os.str());
}

}  // namespace libscout::study
