// `libscout list [--json]`: the models, GEMM providers and backends on this machine, each with
// whether it is available and, if not, why.
#include <cstdio>
#include <iostream>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "gemm/gemm_provider.h"
#include "models/zoo.h"

namespace libscout::cli {

namespace {

struct ListOptions {
  bool json = false;
  std::vector<std::string> blas_libs;
};

void print_row(const std::string& name, bool available, const std::string& text) {
  std::printf("  %-22s %-12s %s\n", name.c_str(), available ? "available" : "unavailable",
              text.c_str());
}

void list(const ListOptions& o) {
  for (const std::string& p : o.blas_libs) gemm::register_blas_library(p);
  const auto models = list_models();
  const auto providers = gemm::list_providers();
  const auto backends = list_backends();
  if (o.json) {
    nlohmann::json j = {{"schema", "libscout.list/1"}};
    for (const ModelInfo& m : models) {
      j["models"].push_back({{"name", m.name}, {"description", m.description}, {"available", true}});
    }
    for (const auto& p : providers) {
      j["gemm_providers"].push_back({{"name", p.name}, {"description", p.description},
                                     {"available", p.available}, {"reason", p.reason}});
    }
    for (const auto& b : backends) {
      j["backends"].push_back({{"name", b.name}, {"description", b.description},
                               {"available", b.available}, {"reason", b.reason}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("Models:\n");
  for (const ModelInfo& m : models) print_row(m.name, true, m.description);
  std::printf("\nGEMM providers:\n");
  for (const auto& p : providers) print_row(p.name, p.available, p.available ? p.description : p.reason);
  std::printf("\nBackends (libscout run MODEL --backend NAME):\n");
  for (const auto& b : backends) print_row(b.name, b.available, b.available ? b.description : b.reason);
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto opts = std::make_shared<ListOptions>();
  CLI::App* cmd = app.add_subcommand("list", "List models, GEMM providers and backends");
  cmd->add_flag("--json", opts->json, "Print JSON (schema libscout.list/1)");
  cmd->add_option("--blas-lib", opts->blas_libs, "Also list this CBLAS library (a path)");
  cmd->callback([opts] { list(*opts); });
}

}  // namespace libscout::cli
