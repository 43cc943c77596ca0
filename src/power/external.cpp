// external: a power log written by a separate instrument (Monsoon power monitor, USB power
// meters, a lab supply) while libscout runs, aligned with the run by wall-clock timestamps. The
// accepted CSV layout is documented in src/power/README.md; in short: a header naming a time column
// (Unix seconds, milliseconds or ISO 8601) and one or more power columns (W or mW, or volts and
// amperes), or no header and two columns, Unix seconds and watts. The log may still be growing:
// stop() waits (MeterOptions::external_wait_s) for it to reach the end of the window, then
// integrates the samples inside the window with the trapezoidal rule, interpolating at its edges.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "power/external_log.h"
#include "power/probes.h"
#include "power/sampled_meter.h"
#include "power/sysfs.h"

namespace libscout::power {

namespace {

std::string normalize(std::string_view field) {
  field = trim(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = trim(field.substr(1, field.size() - 2));
  }
  std::string out;
  for (char c : field) {
    if (c == ' ' || c == '-') {
      out += '_';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  // "power (w)" / "power [mw]" -> "power_w" / "power_mw"; no "__", no "_" at the end.
  std::string cleaned;
  for (char c : out) {
    if (c == '(' || c == '[') c = '_';
    if (c == ')' || c == ']') continue;
    if (c == '_' && (cleaned.empty() || cleaned.back() == '_')) continue;
    cleaned += c;
  }
  if (!cleaned.empty() && cleaned.back() == '_') cleaned.pop_back();
  return cleaned;
}

std::vector<std::string_view> split(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  size_t begin = 0;
  for (;;) {
    size_t end = line.find(delimiter, begin);
    fields.push_back(line.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return fields;
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() > suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// ISO 8601 date and time: 2024-05-01T12:00:00.25Z, with Z, +hh:mm or -hh:mm; without a zone the
// time is local time. Also a space instead of T.
std::optional<double> parse_iso8601(std::string_view text) {
  text = trim(text);
  std::tm tm{};
  int consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string_view rest = std::string_view(s).substr(consumed);
  double fraction = 0;
  if (!rest.empty() && (rest.front() == '.' || rest.front() == ',')) {
    size_t digits = 1;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    fraction = std::stod("0." + std::string(rest.substr(1, digits - 1)));
    rest.remove_prefix(digits);
  }
  double seconds;
  if (rest.empty()) {
    tm.tm_isdst = -1;
    seconds = static_cast<double>(std::mktime(&tm));
  } else if (rest == "Z" || rest == "z") {
    seconds = static_cast<double>(timegm(&tm));
  } else if ((rest.front() == '+' || rest.front() == '-') && rest.size() >= 3) {
    int sign = rest.front() == '+' ? 1 : -1;
    int hours = 0, minutes = 0;
    std::string zone(rest.substr(1));
    if (std::sscanf(zone.c_str(), "%2d:%2d", &hours, &minutes) < 1 &&
        std::sscanf(zone.c_str(), "%2d%2d", &hours, &minutes) < 1) {
      return std::nullopt;
    }
    seconds = static_cast<double>(timegm(&tm)) - sign * (hours * 3600.0 + minutes * 60.0);
  } else {
    return std::nullopt;
  }
  return seconds + fraction;
}

ExternalLogFormat ExternalLogFormat::from_header(std::string_view header_line) {
  ExternalLogFormat format;
  format.delimiter = header_line.find('\t') != std::string_view::npos  ? '\t'
                     : header_line.find(';') != std::string_view::npos ? ';'
                                                                         : ',';
  std::vector<std::string_view> fields = split(header_line, format.delimiter);
  // No header: "<unix seconds>,<watts>".
  if (fields.size() >= 2 && parse_double(fields[0]) && parse_double(fields[1])) {
    format.has_header = false;
    format.time_column = 0;
    format.time_divisor = 1.0;
    format.columns.push_back({"power", 1, -1, 1.0});
    return format;
  }
  format.has_header = true;
  int volts = -1, amps = -1;
  double amp_scale = 1.0;
  for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
    std::string name = normalize(fields[i]);
    if (name == "timestamp" || name == "time" || name == "unix_time" || name == "epoch" ||
        name == "timestamp_s" || name == "time_s" || name == "unix_time_s") {
      format.time_column = i;
      format.time_divisor = 1.0;
    } else if (name == "timestamp_ms" || name == "time_ms" || name == "unix_time_ms") {
      format.time_column = i;
      format.time_divisor = 1e3;
    } else if (name == "timestamp_us" || name == "time_us" || name == "unix_time_us") {
      format.time_column = i;
      format.time_divisor = 1e6;
    } else if (name == "watts" || name == "power" || name == "power_w" || name == "w") {
      format.columns.push_back({"power", i, -1, 1.0});
    } else if (name == "milliwatts" || name == "power_mw" || name == "mw") {
      format.columns.push_back({"power", i, -1, 1e-3});
    } else if (name == "volts" || name == "voltage" || name == "voltage_v" || name == "v") {
      volts = i;
    } else if (name == "amps" || name == "current" || name == "current_a" || name == "a") {
      amps = i;
      amp_scale = 1.0;
    } else if (name == "milliamps" || name == "current_ma" || name == "ma") {
      amps = i;
      amp_scale = 1e-3;
    } else if (ends_with(name, "_mw")) {
      format.columns.push_back({name.substr(0, name.size() - 3), i, -1, 1e-3});
    } else if (ends_with(name, "_w")) {
      format.columns.push_back({name.substr(0, name.size() - 2), i, -1, 1.0});
    }
  }
  if (format.columns.empty() && volts >= 0 && amps >= 0) {
    format.columns.push_back({"power", volts, amps, amp_scale});
  }
  if (format.time_column < 0) {
    throw Error("the external power log has no time column: name one timestamp, time_s, "
                "timestamp_ms or timestamp_us (see src/power/README.md); header: " +
                std::string(header_line));
  }
  if (format.columns.empty()) {
    throw Error("the external power log has no power column: name one watts, power_w, power_mw, "
                "<rail>_w, <rail>_mw, or volts and amps (see src/power/README.md); header: " +
                std::string(header_line));
  }
  return format;
}

std::vector<Rail> ExternalLogFormat::rails() const {
  std::vector<Rail> rails;
  for (const Column& column : columns) rails.push_back({column.rail, true});
  return rails;
}

std::optional<PowerSample> ExternalLogFormat::parse_row(std::string_view line) const {
  std::vector<std::string_view> fields = split(line, delimiter);
  auto field = [&](int i) -> std::string_view {
    return i < static_cast<int>(fields.size()) ? trim(fields[i]) : std::string_view{};
  };
  PowerSample sample;
  std::string_view time = field(time_column);
  if (time.size() >= 2 && time.front() == '"') time = time.substr(1, time.size() - 2);
  if (auto t = parse_double(time)) {
    sample.t_s = *t / time_divisor;
  } else if (auto iso = parse_iso8601(time)) {
    sample.t_s = *iso;
  } else {
    return std::nullopt;
  }
  for (const Column& column : columns) {
    auto value = parse_double(field(column.index));
    if (!value) return std::nullopt;
    double watts = *value * column.scale;
    if (column.current_index >= 0) {
      auto current = parse_double(field(column.current_index));
      if (!current) return std::nullopt;
      watts = *value * *current * column.scale;
    }
    sample.watts.push_back(watts);
  }
  return sample;
}

std::vector<double> integrate_window(const std::vector<PowerSample>& samples, double t0, double t1,
                                     size_t rails) {
  std::vector<double> joules(rails, 0.0);
  if (samples.size() < 2 || samples.front().t_s > t0 || samples.back().t_s < t1 || t1 <= t0) {
    throw Error("the power samples do not cover the window");
  }
  auto at = [&](size_t k, double t, size_t r) {  // linear interpolation between k-1 and k
    const PowerSample& a = samples[k - 1];
    const PowerSample& b = samples[k];
    double span = b.t_s - a.t_s;
    double w = span > 0 ? (t - a.t_s) / span : 1.0;
    return a.watts[r] + w * (b.watts[r] - a.watts[r]);
  };
  for (size_t k = 1; k < samples.size(); ++k) {
    double a = std::max(samples[k - 1].t_s, t0);
    double b = std::min(samples[k].t_s, t1);
    if (b <= a) continue;
    for (size_t r = 0; r < rails; ++r) joules[r] += 0.5 * (at(k, a, r) + at(k, b, r)) * (b - a);
  }
  return joules;
}

namespace {

class ExternalMeter final : public Meter {
 public:
  ExternalMeter(fs::path log, ExternalLogFormat format, double wait_s)
      : log_(std::move(log)),
        format_(std::move(format)),
        rails_(format_.rails()),
        wait_s_(wait_s) {}

  std::string name() const override { return "external"; }
  std::string description() const override {
    return "external power log " + log_.string() + " (" + std::to_string(format_.columns.size()) +
           " power column(s)), aligned by wall-clock time";
  }
  const std::vector<Rail>& rails() const override { return rails_; }

  void start() override {
    catch_up();
    // Keep only the last sample before the window: the one the window's start interpolates from.
    if (samples_.size() > 1) samples_.erase(samples_.begin(), samples_.end() - 1);
    t0_ = wall_now();
  }

  Measurement stop() override {
    double t1 = wall_now();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s_);
    for (;;) {
      catch_up();
      if (!samples_.empty() && samples_.back().t_s >= t1) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string last = samples_.empty() ? "has no samples"
                                            : "ends " + std::to_string(t1 - samples_.back().t_s) +
                                                  " s before the end of the window";
        throw Error("the external power log " + log_.string() + " " + last + " after waiting " +
                    std::to_string(wait_s_) + " s: is the meter still logging, and is its clock "
                    "set to this machine's (timestamps are Unix time)?");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (samples_.front().t_s > t0_) {
      throw Error("the external power log " + log_.string() + " starts " +
                  std::to_string(samples_.front().t_s - t0_) +
                  " s after the window began: start the meter's log before the run");
    }
    std::vector<double> joules = integrate_window(samples_, t0_, t1, rails_.size());
    // The window is measured on the wall clock, the log's own time scale.
    Measurement m = make_measurement(name(), rails_, joules, t1 - t0_);
    for (const PowerSample& s : samples_) {
      if (s.t_s >= t0_ && s.t_s <= t1) m.samples.push_back({s.t_s - t0_, s.watts});
    }
    return m;
  }

 private:
  static double wall_now() {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration<double>(since_epoch).count();
  }

  // Reads the complete lines appended since the last call.
  void catch_up() {
    std::ifstream in(log_, std::ios::binary);
    if (!in) throw Error("cannot open the external power log " + log_.string());
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t end = chunk.rfind('\n');
    if (end == std::string::npos) return;
    offset_ += end + 1;
    std::istringstream lines(chunk.substr(0, end + 1));
    std::string line;
    while (std::getline(lines, line)) {
      std::string_view text = trim(line);
      if (text.empty() || text.front() == '#') continue;
      if (!header_seen_) {
        header_seen_ = true;
        if (format_.has_header) continue;
      }
      if (auto sample = format_.parse_row(text)) samples_.push_back(std::move(*sample));
    }
  }

  fs::path log_;
  ExternalLogFormat format_;
  std::vector<Rail> rails_;
  double wait_s_;
  size_t offset_ = 0;
  bool header_seen_ = false;
  std::vector<PowerSample> samples_;  // t_s is Unix time here
  double t0_ = 0;
};

}  // namespace

Probe probe_external(const std::string& log_path, const MeterOptions& options) {
  std::string path = log_path;
  if (path.empty()) {
    const char* env = std::getenv("LIBSCOUT_EXTERNAL_LOG");
    if (env != nullptr) path = env;
  }
  if (path.empty()) {
    return {nullptr, "needs the log an external meter is writing: --meter external:FILE.csv "
                     "(accepted columns in src/power/README.md)"};
  }
  std::ifstream in(path);
  if (!in) return {nullptr, "cannot open the external power log " + path};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    try {
      return {std::make_unique<ExternalMeter>(path, ExternalLogFormat::from_header(text),
                                              options.external_wait_s),
              {}};
    } catch (const Error& e) {
      return {nullptr, e.what()};
    }
  }
  return {nullptr, "the external power log " + path +
                       " is empty: it needs at least its header line before the run starts"};
}

}  // namespace libscout::power
