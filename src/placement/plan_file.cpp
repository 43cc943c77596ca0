#include "placement/plan_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "measure/device_info.h"

namespace libscout::placement {
namespace {

using nlohmann::json;

constexpr const char* kSchema = "libscout.plan/1";
// A plan of a large model is a few hundred kilobytes; anything far larger is not a plan.
constexpr std::uintmax_t kMaxPlanBytes = 64u << 20;

json number_or_null(double v) { return v >= 0 ? json(v) : json(nullptr); }

json layer_json(const PlannedLayer& l) {
  json alternatives = json::array();
  for (const Alternative& a : l.alternatives) {
    json aj = {{"backend", a.backend},
               {"in_context_ms", number_or_null(a.in_context_ms)},
               {"alone_ms", number_or_null(a.alone_ms)}};
    if (!a.declined.empty()) aj["declined"] = a.declined;
    alternatives.push_back(std::move(aj));
  }
  return {{"name", l.name}, {"op", l.op}, {"backend", l.backend}, {"alternatives", alternatives}};
}

json contender_json(const Contender& c) {
  return {{"name", c.name},
          {"median_ms", c.median_ms},
          {"ci_low_ms", c.ci_low_ms},
          {"ci_high_ms", c.ci_high_ms},
          {"samples", c.samples},
          {"rel_l2_error", c.rel_l2_error},
          {"predicted_ms", number_or_null(c.predicted_ms)}};
}

// nlohmann's messages name the type, not the field: say where it was.
template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(where + ": \"" + key + "\" has the wrong type");
  }
}

double optional_ms(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j.at(key).is_null()) return -1;
  return field<double>(j, key, where);
}

PlannedLayer layer_from_json(const json& j, const std::string& where) {
  PlannedLayer l;
  l.name = field<std::string>(j, "name", where);
  l.op = field<std::string>(j, "op", where);
  l.backend = field<std::string>(j, "backend", where);
  if (l.backend.empty()) throw Error(where + ": layer '" + l.name + "' has no backend");
  const json alternatives = j.value("alternatives", json::array());
  if (!alternatives.is_array()) throw Error(where + ": \"alternatives\" is not a list");
  for (const json& a : alternatives) {
    Alternative alt;
    alt.backend = field<std::string>(a, "backend", where);
    alt.in_context_ms = optional_ms(a, "in_context_ms", where);
    alt.alone_ms = optional_ms(a, "alone_ms", where);
    alt.declined = a.value("declined", "");
    l.alternatives.push_back(std::move(alt));
  }
  return l;
}

}  // namespace

json plan_json(const Plan& plan) {
  json layers = json::array(), contenders = json::array();
  for (const PlannedLayer& l : plan.layers) layers.push_back(layer_json(l));
  for (const Contender& c : plan.contenders) contenders.push_back(contender_json(c));
  return {{"schema", kSchema},
          {"model", plan.model},
          {"model_sha256", plan.model_sha256},
          {"input_shape", plan.input_shape},
          {"batch", plan.batch},
          {"threads", plan.threads},
          {"device", plan.device},
          {"library_versions", plan.library_versions},
          {"chosen", plan.chosen},
          {"layers", layers},
          {"contenders", contenders},
          {"not_considered", plan.not_considered},
          {"planning_s", plan.planning_s}};
}

Plan plan_from_json(const json& j, const std::string& where) {
  if (!j.is_object() || j.value("schema", "") != kSchema) {
    throw Error(where + ": not a libscout plan (schema \"" + std::string(kSchema) + "\")");
  }
  Plan p;
  p.model = field<std::string>(j, "model", where);
  p.model_sha256 = j.value("model_sha256", "");
  p.input_shape = field<std::string>(j, "input_shape", where);
  p.batch = field<int>(j, "batch", where);
  p.threads = field<int>(j, "threads", where);
  p.device = j.value("device", json::object());
  p.library_versions = j.value("library_versions", std::map<std::string, std::string>{});
  p.chosen = field<std::string>(j, "chosen", where);
  const json layers = field<json>(j, "layers", where);
  if (!layers.is_array() || layers.empty()) throw Error(where + ": \"layers\" is not a list of layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    p.layers.push_back(layer_from_json(layers[i], where + ", layer " + std::to_string(i)));
  }
  for (const json& c : j.value("contenders", json::array())) {
    Contender con;
    con.name = field<std::string>(c, "name", where);
    con.median_ms = field<double>(c, "median_ms", where);
    con.ci_low_ms = c.value("ci_low_ms", 0.0);
    con.ci_high_ms = c.value("ci_high_ms", 0.0);
    con.samples = c.value("samples", 0);
    con.rel_l2_error = c.value("rel_l2_error", 0.0);
    con.predicted_ms = optional_ms(c, "predicted_ms", where);
    p.contenders.push_back(std::move(con));
  }
  p.not_considered = j.value("not_considered", std::map<std::string, std::string>{});
  p.planning_s = j.value("planning_s", 0.0);
  return p;
}

Plan read_plan(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read the plan '" + path + "': " + ec.message());
  if (size > kMaxPlanBytes) throw Error("'" + path + "' is too large to be a plan");
  std::ifstream f(path);
  if (!f) throw Error("cannot read the plan '" + path + "'");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error("'" + path + "' is not a JSON file: " + e.what());
  }
  return plan_from_json(j, "plan '" + path + "'");
}

std::vector<std::string> plan_placement(const Plan& plan, const Graph& g) {
  if (!plan.model_sha256.empty() && !g.content_sha256.empty() &&
      plan.model_sha256 != g.content_sha256) {
    throw Error("the plan was made for another model file (" + plan.model + ", SHA-256 " +
                plan.model_sha256.substr(0, 12) + "...)");
  }
  if (plan.layers.size() != g.layers.size()) {
    throw Error("the plan has " + std::to_string(plan.layers.size()) + " layers, the model " +
                std::to_string(g.layers.size()) + ": it was made for another model (" +
                plan.model + ")");
  }
  std::vector<std::string> backends;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    if (plan.layers[i].name != g.layers[i].name) {
      throw Error("the plan's layer " + std::to_string(i) + " is '" + plan.layers[i].name +
                  "', the model's '" + g.layers[i].name + "': it was made for another model (" +
                  plan.model + ")");
    }
    backends.push_back(plan.layers[i].backend);
  }
  return backends;
}

std::vector<std::string> plan_warnings(const Plan& plan, const Graph& g, int threads,
                                       const std::map<std::string, std::string>& versions) {
  std::vector<std::string> w;
  const std::string cpu_then = plan.device.value("cpu_model", "");
  const std::string cpu_now = device_json().value("cpu_model", "");
  if (cpu_then != cpu_now) {
    w.push_back("the plan was measured on '" + cpu_then + "', this CPU is '" + cpu_now + "'");
  }
  if (plan.threads != threads) {
    w.push_back("the plan was measured at " + std::to_string(plan.threads) + " thread(s), this run uses " +
                std::to_string(threads));
  }
  if (plan.input_shape != g.shape(g.input).str()) {
    w.push_back("the plan was measured with input " + plan.input_shape + ", this run's is " +
                g.shape(g.input).str());
  }
  for (const auto& [backend, now] : versions) {
    const auto it = plan.library_versions.find(backend);
    if (it != plan.library_versions.end() && it->second != now) {
      w.push_back(backend + " was " + it->second + " when the plan was measured, now " + now);
    }
  }
  return w;
}

}  // namespace libscout::placement
