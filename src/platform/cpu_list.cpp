#include "platform/cpu_list.h"

#include <algorithm>
#include <charconv>

#include "core/error.h"

namespace libscout::platform {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\n\r");
  return s.substr(first, last - first + 1);
}

[[noreturn]] void fail(std::string_view list, std::string_view why) {
  throw Error("invalid CPU list \"" + std::string(list) + "\": " + std::string(why) +
              " (expected CPU numbers and ranges like \"0-3,6\")");
}

int parse_cpu_number(std::string_view list, std::string_view item) {
  item = trim(item);
  if (item.empty()) fail(list, "a CPU number is missing");
  int value = 0;
  const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
  if (error == std::errc::result_out_of_range || (error == std::errc() && value > kMaxCpuNumber))
    fail(list, "CPU " + std::string(item) + " is above " + std::to_string(kMaxCpuNumber));
  if (error != std::errc() || end != item.data() + item.size() || value < 0)
    fail(list, "\"" + std::string(item) + "\" is not a CPU number");
  return value;
}

}  // namespace

std::vector<int> parse_cpu_list(std::string_view text) {
  const std::string_view list = trim(text);
  if (list.empty()) fail(text, "it is empty");
  std::vector<int> cpus;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = std::min(list.find(',', start), list.size());
    const std::string_view item = trim(list.substr(start, comma - start));
    if (item.empty()) fail(list, "an item between commas is empty");
    // A '-' after the first character separates a range; a leading '-' is a negative number.
    const auto dash = item.find('-', 1);
    if (dash == std::string_view::npos) {
      cpus.push_back(parse_cpu_number(list, item));
    } else {
      const int first = parse_cpu_number(list, item.substr(0, dash));
      const int last = parse_cpu_number(list, item.substr(dash + 1));
      if (last < first)
        fail(list, "range " + std::string(item) + " is reversed (write " + std::to_string(last) +
                       "-" + std::to_string(first) + ")");
      for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
    start = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += j == i + 1 ? ',' : '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace libscout::platform
