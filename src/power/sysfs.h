// Reading the kernel's sysfs and procfs files, relative to roots that tests and users can move:
// LIBSCOUT_SYSFS_ROOT (default /sys) and LIBSCOUT_PROCFS_ROOT (default /proc). Every meter reads
// /sys and /proc only through these functions, so a recorded tree stands in for a real board.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace libscout::power {

namespace fs = std::filesystem;

// The roots, read from the environment at each call (so a test can change them).
fs::path sysfs_root();
fs::path procfs_root();

// root / relative ("class/powercap" -> /sys/class/powercap).
fs::path sysfs_path(std::string_view relative);
fs::path procfs_path(std::string_view relative);

// Whether a file can be opened for reading, found by opening it (not by looking at its mode, so
// it is right for root, for ACLs and for files whose mode lies, like many in sysfs).
enum class Access { readable, missing, denied, failed };
Access check_readable(const fs::path& file, std::string* error_text = nullptr);

// The contents of a small text file with surrounding white space removed. read_text throws
// libscout::Error naming the file and the reason; try_read_text returns nullopt instead.
std::string read_text(const fs::path& file);
std::optional<std::string> try_read_text(const fs::path& file);

// The file's contents parsed as one number; throws libscout::Error naming the file when it is not.
std::int64_t read_int(const fs::path& file);
std::uint64_t read_uint(const fs::path& file);
double read_double(const fs::path& file);

// Writes text to an existing file (a sysfs attribute); returns false and says why on failure.
bool write_text(const fs::path& file, std::string_view text, std::string* error_text = nullptr);

// Number parsing shared by the meters: the whole string (after trimming) must be one number.
std::optional<std::int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);
// The number at the start of text, before any unit ("263808 usec" -> 263808).
std::optional<std::int64_t> parse_leading_int(std::string_view text);
std::string_view trim(std::string_view text);

}  // namespace libscout::power
