// CPU lists in the kernel's notation ("0-3,6"), as written in sysfs files such as
// /sys/devices/system/cpu/online and as given to `--cpus`: parsing into sorted CPU numbers and
// writing them back in the short form.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace libscout::platform {

// The highest CPU number accepted; larger numbers are taken for typing mistakes.
inline constexpr int kMaxCpuNumber = 4095;

// "0-3,6" -> {0, 1, 2, 3, 6}: sorted, without duplicates. White space around items is allowed.
// Throws libscout::Error naming the list and the faulty item when the text is not a CPU list
// (empty, a reversed range "3-1", a negative or non-numeric item, a number above kMaxCpuNumber).
std::vector<int> parse_cpu_list(std::string_view text);

// {0, 1, 2, 3, 6} -> "0-3,6" (the input need not be sorted; duplicates are ignored).
std::string format_cpu_list(std::vector<int> cpus);

}  // namespace libscout::platform
