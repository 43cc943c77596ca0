// Helpers the subcommands share for what they print and write.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libscout::cli {

// Writes `text` to `path` atomically (a temporary file renamed over it), so a reader never sees
// a half-written file. Throws Error with the reason when it cannot.
void write_file_atomic(const std::string& path, const std::string& text);
// Fails early, before long work, when `path` could not be written later.
void check_writable(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& j);

// The items of a comma-separated option ("a, b,,c" -> a, b, c): blanks trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& text);

// "12.345" with `digits` decimals.
std::string fixed(double v, int digits);

}  // namespace libscout::cli
