#include "study/memory_limit.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace libscout::study {

namespace fs = std::filesystem;

namespace {

// The cgroup v2 path of this process ("0::/user.slice/..."), or empty on cgroup v1 / none.
std::string own_cgroup() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

bool write_file(const fs::path& file, const std::string& text) {
  std::ofstream f(file);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

bool controller_enabled(const fs::path& dir) {
  std::ifstream f(dir / "cgroup.subtree_control");
  std::string word;
  while (f >> word) {
    if (word == "memory") return true;
  }
  return false;
}

// Creates a child cgroup with memory.max = bytes; empty path when this is not allowed here.
std::string make_cgroup(std::size_t bytes) {
  const std::string own = own_cgroup();
  if (own.empty()) return {};
  const fs::path parent = fs::path("/sys/fs/cgroup") / fs::path(own).relative_path();
  if (!controller_enabled(parent)) return {};
  static std::atomic<int> counter{0};
  const fs::path dir =
      parent / ("libscout-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::error_code ec;
  if (!fs::create_directory(dir, ec) || ec) return {};
  if (!write_file(dir / "memory.max", std::to_string(bytes)) ||
      !fs::exists(dir / "cgroup.procs")) {
    fs::remove(dir, ec);
    return {};
  }
  write_file(dir / "memory.swap.max", "0");  // absent without swap accounting: fine
  return dir.string();
}

std::size_t resident_bytes(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/statm");
  std::size_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string megabytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MB"; }

MemoryLimit::MemoryLimit(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  cgroup_dir_ = make_cgroup(bytes);
  if (!cgroup_dir_.empty()) {
    method_ = "cgroup memory.max";
    procs_file_ = cgroup_dir_ + "/cgroup.procs";
  } else {
    method_ = "resident-size polling";
  }
}

MemoryLimit::~MemoryLimit() {
  if (cgroup_dir_.empty()) return;
  std::error_code ec;
  fs::remove(cgroup_dir_, ec);  // empty once the child has exited
}

void MemoryLimit::enter_from_child() const {
  if (procs_file_.empty()) return;
  const int fd = open(procs_file_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t w = write(fd, "0", 1);  // "0": the writing process
  close(fd);
}

bool MemoryLimit::exceeded(pid_t child) {
  if (bytes_ == 0 || !cgroup_dir_.empty()) return false;
  if (resident_bytes(child) > bytes_) polled_over_ = true;
  return polled_over_;
}

bool MemoryLimit::hit() const {
  if (polled_over_) return true;
  if (cgroup_dir_.empty()) return false;
  std::ifstream f(cgroup_dir_ + "/memory.events");
  std::string key;
  long value = 0;
  while (f >> key >> value) {
    if (key == "oom_kill" && value > 0) return true;
  }
  return false;
}

}  // namespace libscout::study
