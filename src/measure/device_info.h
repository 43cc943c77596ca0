// The `device` block of every JSON result: what machine, OS and compiler produced it.
#pragma once

#include <nlohmann/json.hpp>

namespace libscout {

nlohmann::json device_json();

}  // namespace libscout
