// `libscout list [--json]`: the models, GEMM providers and backends on this machine, each with
// whether it is available and, if not, why.
#include <cstdio>
#include <iostream>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/plugins.h"
#include "gemm/gemm_provider.h"
#include "models/zoo.h"

namespace libscout::cli {

namespace {

struct ListOptions {
  bool json = false;
  std::string json_file;  // write the JSON there instead of standard output
  std::vector<std::string> blas_libs;
  std::vector<int> threads;  // ask every available GEMM provider what these counts give
};

// Where plugins were looked for and what came of each file.
nlohmann::json plugins_json() {
  const LoadedPlugins& p = plugins();
  nlohmann::json j = {{"directory", p.directory}, {"searched", p.searched}, {"loaded", p.loaded},
                      {"failed", nlohmann::json::array()}};
  for (const PluginLoadFailure& f : p.failed) {
    j["failed"].push_back({{"plugin", f.plugin}, {"reason", f.reason}, {"provides", f.provides}});
  }
  return j;
}

void print_plugins() {
  const LoadedPlugins& p = plugins();
  std::string searched;
  for (const std::string& dir : p.searched) searched += (searched.empty() ? "" : ", ") + dir;
  if (p.directory.empty()) {
    std::printf("\nPlugins: no plugin folder found (looked in: %s; set LIBSCOUT_PLUGIN_DIR)\n",
                searched.empty() ? "nowhere: libscout_core's location is unknown" : searched.c_str());
    return;
  }
  std::printf("\nPlugins: %zu loaded, %zu not loaded, from %s (looked in: %s)\n", p.loaded.size(),
              p.failed.size(), p.directory.c_str(), searched.c_str());
}

// The thread count each available provider says it will use for each requested count
// (Provider::set_threads), for the study's planning: {"answers": {"openblas": {"1": 1, "2": 2},
// ...}, "errors": {"<provider>": "<message>"}} (a provider that throws is left out of answers).
nlohmann::json thread_answers(const std::vector<gemm::ProviderInfo>& providers,
                              const std::vector<int>& counts) {
  nlohmann::json j = {{"answers", nlohmann::json::object()}, {"errors", nlohmann::json::object()}};
  for (const auto& info : providers) {
    if (!info.available) continue;
    try {
      auto provider = gemm::create_provider(info.name);
      for (int n : counts) j["answers"][info.name][std::to_string(n)] = provider->set_threads(n);
    } catch (const std::exception& e) {
      j["errors"][info.name] = e.what();
    }
  }
  return j;
}

void print_row(const std::string& name, bool available, const std::string& text) {
  std::printf("  %-22s %-12s %s\n", name.c_str(), available ? "available" : "unavailable",
              text.c_str());
}

void list(const ListOptions& o) {
  for (const std::string& p : o.blas_libs) gemm::register_blas_library(p);
  const auto models = list_models();
  const auto providers = gemm::list_providers();
  const auto backends = list_backends();
  if (o.json || !o.json_file.empty()) {
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
    j["plugins"] = plugins_json();
    if (!o.threads.empty()) j["provider_threads"] = thread_answers(providers, o.threads);
    if (!o.json_file.empty()) {
      write_json_file(o.json_file, j);
    } else {
      std::cout << j.dump(2) << "\n";
    }
    return;
  }
  std::printf("Models:\n");
  for (const ModelInfo& m : models) print_row(m.name, true, m.description);
  std::printf("\nGEMM providers:\n");
  for (const auto& p : providers) print_row(p.name, p.available, p.available ? p.description : p.reason);
  std::printf("\nBackends (libscout run MODEL --backend NAME):\n");
  for (const auto& b : backends) print_row(b.name, b.available, b.available ? b.description : b.reason);
  print_plugins();
  if (o.threads.empty()) return;
  std::printf("\nThreads each GEMM provider uses when asked (set_threads):\n");
  const nlohmann::json answers = thread_answers(providers, o.threads);
  for (const auto& [name, counts] : answers["answers"].items()) {
    std::string text;
    for (const auto& [asked, used] : counts.items()) {
      text += (text.empty() ? "" : ", ") + asked + " -> " + used.dump();
    }
    print_row(name, true, text);
  }
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto opts = std::make_shared<ListOptions>();
  CLI::App* cmd = app.add_subcommand("list", "List models, GEMM providers and backends");
  cmd->add_flag("--json", opts->json, "Print JSON (schema libscout.list/1)");
  cmd->add_option("--json-file", opts->json_file, "Write the JSON to this file instead");
  cmd->add_option("--blas-lib", opts->blas_libs, "Also list this CBLAS library (a path)");
  cmd->add_option("--threads", opts->threads,
                  "Also ask each GEMM provider how many threads it uses for these counts")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  cmd->callback([opts] { list(*opts); });
}

}  // namespace libscout::cli
