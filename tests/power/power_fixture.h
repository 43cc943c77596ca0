// Helpers of the power tests: a private copy of a recorded sysfs tree (tests/data/power/<name>)
// that LIBSCOUT_SYSFS_ROOT points at while the test runs, values rewritten atomically as a
// sensor's driver would update them, and a way to see a file as an unprivileged user does.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace libscout::power {
namespace fs = std::filesystem;
}

namespace libscout::power::testing {

inline fs::path data_dir() { return fs::path(LIBSCOUT_TEST_DATA_DIR) / "power"; }

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "libscout-power-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A copy of tests/data/power/<name> (or an empty tree when name is empty) that
// LIBSCOUT_SYSFS_ROOT points at.
class SysfsTree {
 public:
  explicit SysfsTree(const std::string& name)
      : root_(copy(name)), env_("LIBSCOUT_SYSFS_ROOT", root_.string()) {}
  const fs::path& root() const { return root_; }
  fs::path operator/(const std::string& relative) const { return root_ / relative; }

 private:
  fs::path copy(const std::string& name) {
    fs::path root = dir_.path() / "sys";
    fs::create_directories(root);
    if (!name.empty()) fs::copy(data_dir() / name, root, fs::copy_options::recursive);
    return root;
  }
  TempDir dir_;
  fs::path root_;
  ScopedEnv env_;
};

// Replaces a file's contents in one step (write beside it, rename over it), so that a reader on
// another thread sees the old or the new value, never half of one.
inline void write_value(const fs::path& file, const std::string& text) {
  fs::path next = file;
  next += ".next";
  {
    std::ofstream out(next, std::ios::trunc);
    out << text << "\n";
  }
  fs::rename(next, file);
}

inline std::string read_value(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

// Runs f as an unprivileged user and returns what it returns: directly with file modes doing
// the work when the test is not root, else in a child process that drops to nobody (65534),
// since root reads files whatever their mode.
inline std::string as_unprivileged(const std::function<std::string()>& f) {
  if (::geteuid() != 0) return f();
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string result;
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      result = "cannot drop root";
    } else {
      try {
        result = f();
      } catch (const std::exception& e) {
        result = std::string("exception: ") + e.what();
      }
    }
    ssize_t written = ::write(pipe_fds[1], result.data(), result.size());
    (void)written;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string result;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) result.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return result;
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace libscout::power::testing
