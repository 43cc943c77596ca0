// `libscout meters [--json]`: the power meters of this device, their rails, and why the others
// are absent.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "power/meter.h"

namespace libscout::cli {

void add_meters_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("meters", "List the power meters found on this device");
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([json] {
    const auto meters = power::list_meters();
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& m : meters) out.push_back(power::to_json(m));
      std::printf("%s\n", out.dump(2).c_str());
      return;
    }
    for (const auto& m : meters) {
      std::printf("  %-10s %-12s %s\n", m.name.c_str(), m.available ? "available" : "unavailable",
                  m.available ? m.description.c_str() : m.reason.c_str());
      for (const auto& r : m.rails) std::printf("  %-10s   rail %s\n", "", r.name.c_str());
    }
  });
}

}  // namespace libscout::cli
