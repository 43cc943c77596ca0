#include "platform/topology.h"

#include <dirent.h>
#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#if defined(LIBSCOUT_HAVE_CPUINFO)
#include <cpuinfo.h>
#endif

#include "core/error.h"
#include "platform/cpu_list.h"

namespace libscout::platform {

namespace fs = std::filesystem;

namespace {

// ---- files -------------------------------------------------------------------------------------

std::optional<fs::path> root_from_env(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return fs::path(value);
}

fs::path sysfs_root() { return root_from_env("LIBSCOUT_SYSFS_ROOT").value_or("/sys"); }
fs::path procfs_root() { return root_from_env("LIBSCOUT_PROCFS_ROOT").value_or("/proc"); }
bool live_system() {
  return !root_from_env("LIBSCOUT_SYSFS_ROOT") && !root_from_env("LIBSCOUT_PROCFS_ROOT");
}

std::string_view trim(std::string_view s) {
  // Device-tree strings end in NUL.
  const char* space = " \t\r\n";
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::string(trim(text.str()));
}

// A number in decimal or, with 0x, hexadecimal ("0xd03").
std::optional<std::int64_t> parse_number(std::string_view text) {
  text = trim(text);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> read_number(const fs::path& file) {
  const auto text = read_file(file);
  return text ? parse_number(*text) : std::nullopt;
}

// A CPU list file; malformed contents are an error naming the file.
std::optional<std::vector<int>> read_cpu_list(const fs::path& file) {
  const auto text = read_file(file);
  if (!text) return std::nullopt;
  try {
    return parse_cpu_list(*text);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

// ---- /proc/cpuinfo -----------------------------------------------------------------------------

struct CpuinfoEntry {
  std::optional<int> implementer, part;
  std::string model_name;
};

struct Cpuinfo {
  std::map<int, CpuinfoEntry> processors;
  std::map<std::string, std::string> global;  // keys outside processor blocks ("Hardware", ...)
};

// Blocks begin at "processor : N". Keys of a block are that processor's; "Hardware", "Revision",
// "Model", "Serial" (printed once, at the end) are global, and so are keys before the first block.
// Old 32-bit kernels print the CPU fields once after all the processor lines: a CPU without a
// part then takes the only part in the file.
Cpuinfo parse_cpuinfo(const std::string& text) {
  Cpuinfo info;
  std::istringstream in(text);
  std::string line;
  CpuinfoEntry* current = nullptr;
  std::set<std::pair<int, int>> parts;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key(trim(std::string_view(line).substr(0, colon)));
    const std::string value(trim(std::string_view(line).substr(colon + 1)));
    if (key == "processor") {
      const auto n = parse_number(value);
      current = n ? &info.processors[static_cast<int>(*n)] : nullptr;
      continue;
    }
    const bool global_key =
        key == "Hardware" || key == "Revision" || key == "Model" || key == "Serial";
    if (global_key || current == nullptr) {
      info.global[key] = value;
      if (current == nullptr) continue;
    }
    if (key == "CPU implementer") {
      if (auto v = parse_number(value)) current->implementer = static_cast<int>(*v);
    } else if (key == "CPU part") {
      if (auto v = parse_number(value)) current->part = static_cast<int>(*v);
    } else if (key == "model name") {
      current->model_name = value;
    }
  }
  for (const auto& [cpu, e] : info.processors) {
    if (e.implementer && e.part) parts.insert({*e.implementer, *e.part});
  }
  auto gi = info.global.find("CPU implementer"), gp = info.global.find("CPU part");
  if (parts.empty() && gi != info.global.end() && gp != info.global.end()) {
    auto i = parse_number(gi->second), p = parse_number(gp->second);
    if (i && p) parts.insert({static_cast<int>(*i), static_cast<int>(*p)});
  }
  if (parts.size() == 1) {
    for (auto& [cpu, e] : info.processors) {
      if (!e.part) std::tie(e.implementer, e.part) = *parts.begin();
    }
  }
  return info;
}

// ---- core names --------------------------------------------------------------------------------

struct KnownCore {
  int implementer, part;
  const char* name;
  int rank;  // rough single-thread performance class, to order clusters the kernel leaves equal
};

constexpr KnownCore kKnownCores[] = {
    {0x41, 0xc05, "Cortex-A5", 1},        {0x41, 0xc07, "Cortex-A7", 2},
    {0x41, 0xc08, "Cortex-A8", 3},        {0x41, 0xc09, "Cortex-A9", 4},
    {0x41, 0xc0d, "Cortex-A12", 5},       {0x41, 0xc0e, "Cortex-A17", 5},
    {0x41, 0xc0f, "Cortex-A15", 6},       {0x41, 0xd01, "Cortex-A32", 2},
    {0x41, 0xd02, "Cortex-A34", 2},       {0x41, 0xd03, "Cortex-A53", 3},
    {0x41, 0xd04, "Cortex-A35", 2},       {0x41, 0xd05, "Cortex-A55", 4},
    {0x41, 0xd06, "Cortex-A65", 5},       {0x41, 0xd07, "Cortex-A57", 7},
    {0x41, 0xd08, "Cortex-A72", 8},       {0x41, 0xd09, "Cortex-A73", 8},
    {0x41, 0xd0a, "Cortex-A75", 9},       {0x41, 0xd0b, "Cortex-A76", 10},
    {0x41, 0xd0c, "Neoverse-N1", 10},     {0x41, 0xd0d, "Cortex-A77", 11},
    {0x41, 0xd0e, "Cortex-A76AE", 10},    {0x41, 0xd40, "Neoverse-V1", 12},
    {0x41, 0xd41, "Cortex-A78", 12},      {0x41, 0xd42, "Cortex-A78AE", 12},
    {0x41, 0xd44, "Cortex-X1", 13},       {0x41, 0xd46, "Cortex-A510", 4},
    {0x41, 0xd47, "Cortex-A710", 12},     {0x41, 0xd48, "Cortex-X2", 14},
    {0x41, 0xd49, "Neoverse-N2", 12},     {0x41, 0xd4a, "Neoverse-E1", 5},
    {0x41, 0xd4b, "Cortex-A78C", 12},     {0x41, 0xd4d, "Cortex-A715", 13},
    {0x41, 0xd4e, "Cortex-X3", 15},       {0x41, 0xd80, "Cortex-A520", 4},
    {0x41, 0xd81, "Cortex-A720", 14},     {0x41, 0xd82, "Cortex-X4", 16},
    {0x4e, 0x000, "Denver", 8},           {0x4e, 0x003, "Denver2", 9},
    {0x4e, 0x004, "Carmel", 10},          {0x51, 0x800, "Kryo 2xx Gold", 8},
    {0x51, 0x801, "Kryo 2xx Silver", 3},  {0x51, 0x802, "Kryo 3xx Gold", 9},
    {0x51, 0x803, "Kryo 3xx Silver", 4},  {0x51, 0x804, "Kryo 4xx Gold", 10},
    {0x51, 0x805, "Kryo 4xx Silver", 4},  {0x51, 0x205, "Kryo", 7},
    {0x51, 0x211, "Kryo", 7},             {0x53, 0x001, "Exynos M1", 8},
};

const KnownCore* find_core(std::optional<int> implementer, std::optional<int> part) {
  if (!implementer || !part) return nullptr;
  for (const KnownCore& k : kKnownCores) {
    if (k.implementer == *implementer && k.part == *part) return &k;
  }
  return nullptr;
}

std::string hex(int value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%0*x", digits, value);
  return buffer;
}

// "a57", "Cortex-A57", "cortex_a57" -> "a57": lower case, letters and digits only, without the
// "cortex" prefix; so users can type core names loosely.
std::string core_key(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.rfind("cortex", 0) == 0) out.erase(0, 6);
  return out;
}

// ---- architecture and board --------------------------------------------------------------------

// The live system's architecture is uname's. A recorded tree's comes from its cpuinfo: arm64
// kernels print "CPU architecture: 8" with "asimd" in Features; 32-bit kernels print 7 (also on
// ARMv8 cores, which then run in AArch32 state).
std::string detect_architecture(const std::string& cpuinfo_text) {
  if (live_system()) {
    utsname u{};
    if (uname(&u) == 0) return u.machine;
  }
  std::istringstream in(cpuinfo_text);
  std::string line, arch, features;
  bool x86_flags = false;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key(trim(std::string_view(line).substr(0, colon)));
    const std::string value(trim(std::string_view(line).substr(colon + 1)));
    if (key == "CPU architecture" && arch.empty()) arch = value;
    if (key == "Features" && features.empty()) features = " " + value + " ";
    if (key == "flags") x86_flags = x86_flags || (" " + value + " ").find(" lm ") != std::string::npos;
  }
  if (arch == "8" && features.find(" asimd ") != std::string::npos) return "aarch64";
  if (arch == "7" || arch == "8") return "armv7l";
  if (x86_flags) return "x86_64";
  return "unknown";
}

std::string detect_board() {
  for (const fs::path& file : {procfs_root() / "device-tree/model",
                               sysfs_root() / "firmware/devicetree/base/model"}) {
    if (auto text = read_file(file); text && !text->empty()) return *text;
  }
  return {};
}

// ---- cpuinfo library (live system only) --------------------------------------------------------

struct LibraryInfo {
  std::map<int, std::uint32_t> midr;  // by Linux CPU number (ARM only)
  std::string package_name;
};

LibraryInfo library_info() {
  LibraryInfo out;
#if defined(LIBSCOUT_HAVE_CPUINFO)
  if (!cpuinfo_initialize()) return out;
  if (cpuinfo_get_packages_count() > 0) out.package_name = cpuinfo_get_package(0)->name;
#if CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
  const cpuinfo_processor* p = cpuinfo_get_processors();
  for (std::uint32_t i = 0; i < cpuinfo_get_processors_count(); ++i) {
    if (p[i].core != nullptr && p[i].core->midr != 0) out.midr[p[i].linux_id] = p[i].core->midr;
  }
#endif
#endif
  return out;
}

// ---- clustering --------------------------------------------------------------------------------

int core_rank(const Core& c) {
  const KnownCore* k = find_core(c.implementer, c.part);
  return k ? k->rank : 0;
}

void form_clusters(Topology& t) {
  // Group by core type and speed.
  using Key = std::tuple<std::string, std::optional<int>, std::optional<std::int64_t>>;
  std::map<Key, Cluster> groups;
  std::map<Key, int> ranks;
  for (const Core& c : t.cores) {
    Key key{c.core_name, c.capacity, c.max_freq_khz};
    Cluster& g = groups[key];
    g.core_name = c.core_name;
    g.capacity = c.capacity;
    g.max_freq_khz = c.max_freq_khz;
    g.cpus.push_back(c.cpu);
    ranks[key] = core_rank(c);
  }
  std::vector<std::pair<Key, Cluster>> list(groups.begin(), groups.end());
  const bool all_capacity = std::all_of(list.begin(), list.end(),
                                        [](const auto& g) { return g.second.capacity.has_value(); });
  const bool all_freq = std::all_of(list.begin(), list.end(), [](const auto& g) {
    return g.second.max_freq_khz.has_value();
  });
  auto speed = [&](const std::pair<Key, Cluster>& g) {
    return std::make_tuple(all_capacity ? *g.second.capacity : 0,
                           all_freq ? *g.second.max_freq_khz : 0, ranks[g.first],
                           -g.second.cpus.front());
  };
  std::sort(list.begin(), list.end(),
            [&](const auto& a, const auto& b) { return speed(a) < speed(b); });

  // What ordered them: the first criterion, in the order above, that differs somewhere.
  t.ordered_by.clear();
  for (int criterion = 0; criterion < 4 && t.ordered_by.empty() && list.size() > 1; ++criterion) {
    for (std::size_t i = 1; i < list.size(); ++i) {
      const auto a = speed(list[i - 1]), b = speed(list[i]);
      const bool differ = criterion == 0   ? std::get<0>(a) != std::get<0>(b)
                          : criterion == 1 ? std::get<1>(a) != std::get<1>(b)
                          : criterion == 2 ? std::get<2>(a) != std::get<2>(b)
                                           : true;
      if (differ) {
        t.ordered_by = criterion == 0   ? "cpu_capacity"
                       : criterion == 1 ? "cpuinfo_max_freq"
                       : criterion == 2 ? "core type"
                                        : "cpu number";
        break;
      }
    }
  }

  const std::size_t n = list.size();
  t.clusters.clear();
  for (std::size_t i = 0; i < n; ++i) {
    Cluster c = std::move(list[i].second);
    if (n == 1) c.name = "all";
    else if (i == 0) c.name = "little";
    else if (i + 1 == n) c.name = "big";
    else if (n == 3) c.name = "mid";
    else c.name = "mid" + std::to_string(i);
    t.clusters.push_back(std::move(c));
  }
}

[[noreturn]] void throw_errno(const std::string& what, const std::vector<int>& cpus, int error) {
  throw Error("cannot pin " + what + " to CPUs " + format_cpu_list(cpus) + ": " +
              std::strerror(error));
}

cpu_set_t make_set(const std::vector<int>& cpus) {
  if (cpus.empty()) throw Error("cannot pin to an empty set of CPUs");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE)
      throw Error("cannot pin to CPU " + std::to_string(cpu) + ": outside 0-" +
                  std::to_string(CPU_SETSIZE - 1));
    CPU_SET(cpu, &set);
  }
  return set;
}

}  // namespace

std::string arm_core_name(int implementer, int part) {
  const KnownCore* k = find_core(implementer, part);
  return k ? k->name : std::string();
}

Topology detect_topology() {
  Topology t;
  const fs::path cpu_dir = sysfs_root() / "devices/system/cpu";
  const std::string cpuinfo_text = read_file(procfs_root() / "cpuinfo").value_or("");
  t.architecture = detect_architecture(cpuinfo_text);
  t.board = detect_board();

  // possible and online; without them, the cpuN folders; without those, the CPUs this process
  // may run on (a container without /sys).
  if (auto possible = read_cpu_list(cpu_dir / "possible")) t.possible = *possible;
  if (t.possible.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cpu_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 3 && name.rfind("cpu", 0) == 0 &&
          name.find_first_not_of("0123456789", 3) == std::string::npos)
        t.possible.push_back(std::stoi(name.substr(3)));
    }
    std::sort(t.possible.begin(), t.possible.end());
  }
  if (auto online = read_cpu_list(cpu_dir / "online")) t.online = *online;
  else t.online = t.possible;
  if (t.online.empty() && live_system()) t.online = current_affinity();
  if (t.possible.empty()) t.possible = t.online;

  const Cpuinfo info = parse_cpuinfo(cpuinfo_text);
  const LibraryInfo lib = live_system() ? library_info() : LibraryInfo{};
  t.soc = lib.package_name;

  for (int cpu : t.online) {
    Core c;
    c.cpu = cpu;
    const fs::path dir = cpu_dir / ("cpu" + std::to_string(cpu));
    if (auto v = read_number(dir / "cpu_capacity")) c.capacity = static_cast<int>(*v);
    if (auto v = read_number(dir / "cpufreq/cpuinfo_max_freq")) c.max_freq_khz = *v;
    if (auto v = read_number(dir / "topology/physical_package_id")) c.package_id = static_cast<int>(*v);
    if (auto v = read_number(dir / "topology/cluster_id")) c.cluster_id = static_cast<int>(*v);
    std::string model_name;
    if (auto it = info.processors.find(cpu); it != info.processors.end()) {
      c.implementer = it->second.implementer;
      c.part = it->second.part;
      model_name = it->second.model_name;
    }
    if (!c.part) {
      if (auto it = lib.midr.find(cpu); it != lib.midr.end()) {
        c.implementer = static_cast<int>(it->second >> 24);
        c.part = static_cast<int>((it->second >> 4) & 0xfff);
      }
    }
    if (c.part) {
      c.core_name = arm_core_name(*c.implementer, *c.part);
      if (c.core_name.empty())
        c.core_name = "implementer " + hex(*c.implementer, 2) + " part " + hex(*c.part, 3);
    } else if (!model_name.empty()) {
      c.core_name = model_name;
    } else {
      c.core_name = "unknown";
    }
    t.cores.push_back(std::move(c));
  }
  form_clusters(t);
  return t;
}

std::vector<int> select_cpus(const Topology& topology, std::string_view cluster,
                             std::string_view cpus) {
  std::vector<int> chosen = topology.online;
  if (!cluster.empty() && cluster != "all") {
    std::vector<const Cluster*> matched;
    if (cluster == "big" || cluster == "little") {
      if (!topology.clusters.empty())
        matched.push_back(cluster == "big" ? &topology.clusters.back() : &topology.clusters.front());
    } else {
      for (const Cluster& c : topology.clusters) {
        if (c.name == cluster || core_key(c.core_name) == core_key(cluster)) matched.push_back(&c);
      }
    }
    if (matched.empty()) {
      std::string known = "all, big, little";
      for (const Cluster& c : topology.clusters) {
        if (c.name != "all" && c.name != "big" && c.name != "little") known += ", " + c.name;
        known += ", " + c.core_name;
      }
      throw Error("unknown cluster '" + std::string(cluster) + "' (this system has: " + known +
                  ")");
    }
    chosen.clear();
    for (const Cluster* c : matched) chosen.insert(chosen.end(), c->cpus.begin(), c->cpus.end());
    std::sort(chosen.begin(), chosen.end());
  }
  if (!cpus.empty()) {
    const std::vector<int> listed = parse_cpu_list(cpus);
    for (int cpu : listed) {
      if (!std::binary_search(topology.online.begin(), topology.online.end(), cpu))
        throw Error("CPU " + std::to_string(cpu) + " of --cpus " + std::string(cpus) +
                    " is not online (online: " + format_cpu_list(topology.online) + ")");
    }
    std::vector<int> both;
    std::set_intersection(listed.begin(), listed.end(), chosen.begin(), chosen.end(),
                          std::back_inserter(both));
    if (both.empty())
      throw Error("no CPU of --cpus " + std::string(cpus) + " is in cluster '" +
                  std::string(cluster) + "' (CPUs " + format_cpu_list(chosen) + ")");
    chosen = std::move(both);
  }
  if (chosen.empty()) throw Error("no online CPU to run on");
  return chosen;
}

void pin_current_thread(const std::vector<int>& cpus) {
  const cpu_set_t set = make_set(cpus);
  if (sched_setaffinity(0, sizeof set, &set) != 0) throw_errno("the thread", cpus, errno);
}

void pin_process(const std::vector<int>& cpus) {
  const cpu_set_t set = make_set(cpus);
  // The calling thread first: an impossible set fails here, before any other thread moved.
  if (sched_setaffinity(0, sizeof set, &set) != 0) throw_errno("the process", cpus, errno);
  // The live /proc, whatever LIBSCOUT_PROCFS_ROOT says: these are this process's threads.
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return;  // no procfs: threads created from now on inherit the mask
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
    // A thread may have exited since the listing (ESRCH): nothing to pin.
    if (tid > 0 && sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) {
      const int error = errno;
      closedir(tasks);
      throw_errno("thread " + std::to_string(tid), cpus, error);
    }
  }
  closedir(tasks);
}

std::vector<int> current_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  }
  return out;
}

std::string cluster_used(const Topology& topology, const std::vector<int>& used) {
  if (used.empty()) return {};
  std::vector<int> sorted = used;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted == topology.online) return "all";
  std::string names;
  for (const Cluster& c : topology.clusters) {
    const bool touches = std::any_of(sorted.begin(), sorted.end(), [&](int cpu) {
      return std::binary_search(c.cpus.begin(), c.cpus.end(), cpu);
    });
    if (touches) names += (names.empty() ? "" : "+") + c.name;
  }
  return names;
}

nlohmann::json topology_json(const Topology& topology, const std::vector<int>& used) {
  auto or_null = [](const auto& optional) {
    return optional ? nlohmann::json(*optional) : nlohmann::json(nullptr);
  };
  auto text_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json clusters = nlohmann::json::array();
  for (const Cluster& c : topology.clusters) {
    clusters.push_back({{"name", c.name},
                        {"core_name", c.core_name},
                        {"cpus", c.cpus},
                        {"max_freq_khz", or_null(c.max_freq_khz)},
                        {"capacity", or_null(c.capacity)}});
  }
  std::vector<int> sorted = used;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return {{"architecture", topology.architecture},
          {"board", text_or_null(topology.board)},
          {"soc", text_or_null(topology.soc)},
          {"cpus_online", format_cpu_list(topology.online)},
          {"clusters", clusters},
          {"clusters_ordered_by", text_or_null(topology.ordered_by)},
          {"cores_used", sorted},
          {"cluster_used", text_or_null(cluster_used(topology, sorted))}};
}

}  // namespace libscout::platform
