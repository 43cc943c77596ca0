#include "power/sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace libscout::power {

namespace {

fs::path root_from_env(const char* variable, const char* fallback) {
  const char* value = std::getenv(variable);
  return fs::path(value != nullptr && *value != '\0' ? value : fallback);
}

// Reads a whole small file with open/read/close; returns errno on failure, 0 on success.
int read_small_file(const fs::path& file, std::string& out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  out.clear();
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return 0;
}

}  // namespace

fs::path sysfs_root() { return root_from_env("LIBSCOUT_SYSFS_ROOT", "/sys"); }
fs::path procfs_root() { return root_from_env("LIBSCOUT_PROCFS_ROOT", "/proc"); }
fs::path sysfs_path(std::string_view relative) { return sysfs_root() / fs::path(relative); }
fs::path procfs_path(std::string_view relative) { return procfs_root() / fs::path(relative); }

Access check_readable(const fs::path& file, std::string* error_text) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return Access::readable;
  }
  int error = errno;
  if (error_text != nullptr) *error_text = std::strerror(error);
  if (error == ENOENT || error == ENOTDIR) return Access::missing;
  if (error == EACCES || error == EPERM) return Access::denied;
  return Access::failed;
}

std::string_view trim(std::string_view text) {
  const char* space = " \t\r\n";
  size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string> try_read_text(const fs::path& file) {
  std::string text;
  if (read_small_file(file, text) != 0) return std::nullopt;
  return std::string(trim(text));
}

std::string read_text(const fs::path& file) {
  std::string text;
  if (int error = read_small_file(file, text); error != 0) {
    throw Error("cannot read " + file.string() + ": " + std::strerror(error));
  }
  return std::string(trim(text));
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  text = trim(text);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_leading_int(std::string_view text) {
  text = trim(text);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

std::int64_t read_int(const fs::path& file) {
  std::string text = read_text(file);
  if (auto value = parse_int(text)) return *value;
  throw Error("expected an integer in " + file.string() + ", found \"" + text + "\"");
}

std::uint64_t read_uint(const fs::path& file) {
  std::string text = read_text(file);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw Error("expected an unsigned integer in " + file.string() + ", found \"" + text + "\"");
  }
  return value;
}

double read_double(const fs::path& file) {
  std::string text = read_text(file);
  if (auto value = parse_double(text)) return *value;
  throw Error("expected a number in " + file.string() + ", found \"" + text + "\"");
}

bool write_text(const fs::path& file, std::string_view text, std::string* error_text) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error_text != nullptr) *error_text = std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    if (error_text != nullptr) *error_text = n < 0 ? std::strerror(error) : "short write";
    return false;
  }
  return true;
}

}  // namespace libscout::power
