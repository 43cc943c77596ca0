// Typed reads of one JSON object for the report's readers: a missing key and null read alike (an
// empty optional), and a value of the wrong type is an Error that names the field
// ("results.json.runs[3].threads should be an integer"), so the row can be skipped with a warning.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace libscout::report {

class Fields {
 public:
  Fields(const nlohmann::json& object, std::string where)
      : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) throw Error(where_ + " is not a JSON object");
  }

  const nlohmann::json* find(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<double> number(const char* key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) throw bad(key, "a number");
    return value->get<double>();
  }

  std::optional<long long> integer(const char* key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) throw bad(key, "an integer");
    return static_cast<long long>(value->get<double>());
  }

  int integer_or(const char* key, int fallback) const {
    auto value = integer(key);
    return value ? static_cast<int>(*value) : fallback;
  }

  std::optional<std::string> text(const char* key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_string()) throw bad(key, "a string");
    return value->get<std::string>();
  }

  std::optional<bool> boolean(const char* key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_boolean()) throw bad(key, "true or false");
    return value->get<bool>();
  }

  std::optional<Fields> object(const char* key) const {
    const nlohmann::json* value = find(key);
    if (!value) return std::nullopt;
    return Fields(*value, where_ + "." + key);
  }

  // A list of strings (absent: empty).
  std::vector<std::string> texts(const char* key) const {
    std::vector<std::string> out;
    const nlohmann::json* value = find(key);
    if (!value) return out;
    if (!value->is_array()) throw bad(key, "a list of strings");
    for (const auto& item : *value) {
      if (!item.is_string()) throw bad(key, "a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // An object of strings, e.g. backend -> library version (absent: empty). Non-string values are
  // kept as their JSON text.
  std::map<std::string, std::string> text_map(const char* key) const {
    std::map<std::string, std::string> out;
    const nlohmann::json* value = find(key);
    if (!value) return out;
    if (!value->is_object()) throw bad(key, "an object");
    for (const auto& [name, item] : value->items())
      if (!item.is_null()) out[name] = item.is_string() ? item.get<std::string>() : item.dump();
    return out;
  }

  const std::string& where() const { return where_; }
  const nlohmann::json& json() const { return object_; }

 private:
  Error bad(const char* key, const char* expected) const {
    return Error(where_ + "." + key + " should be " + expected);
  }

  const nlohmann::json& object_;
  std::string where_;
};

}  // namespace libscout::report
