#include "power/meter.h"

#include "core/error.h"

namespace libscout::power {

Measurement make_measurement(const std::string& meter, const std::vector<Rail>& rails,
                             const std::vector<double>& energy_j, double duration_s) {
  if (rails.size() != energy_j.size()) {
    throw Error("meter " + meter + ": " + std::to_string(energy_j.size()) + " energies for " +
                std::to_string(rails.size()) + " rails");
  }
  Measurement m;
  m.meter = meter;
  m.duration_s = duration_s;
  for (size_t i = 0; i < rails.size(); ++i) {
    RailMeasurement rail{rails[i].name, rails[i].in_total, energy_j[i],
                         duration_s > 0 ? energy_j[i] / duration_s : 0.0};
    if (rail.in_total) m.energy_j += rail.energy_j;
    m.rails.push_back(rail);
  }
  m.avg_power_w = duration_s > 0 ? m.energy_j / duration_s : 0.0;
  return m;
}

nlohmann::json to_json(const MeterInfo& info) {
  nlohmann::json rails = nlohmann::json::array();
  for (const Rail& rail : info.rails) {
    rails.push_back({{"name", rail.name}, {"in_total", rail.in_total}});
  }
  nlohmann::json j = {{"name", info.name}, {"available", info.available}, {"rails", rails}};
  if (info.available) {
    j["description"] = info.description;
  } else {
    j["reason"] = info.reason;
  }
  return j;
}

}  // namespace libscout::power
