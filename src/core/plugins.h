// Backends and GEMM providers whose libraries may be missing at run time (oneDNN, XNNPACK,
// CLBlast, Arm Compute Library, CUDA) are built as plugins: build/plugins/<name>.so, installed as
// <prefix>/lib/libscout/plugins/<name>.so. Each exports
//     extern "C" void libscout_register_plugin(libscout::PluginRegistry& registry);
// and is loaded with dlopen on first use; a plugin that does not load (its library is missing)
// is listed as unavailable with the loader's message, and everything else keeps working.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "gemm/gemm_provider.h"

namespace libscout {

struct BackendFactory {
  std::string name;
  std::string description;
  // Empty when usable here; otherwise why not (no OpenCL platform, no GPU, ...).
  std::function<std::string()> unavailable_reason;
  std::function<std::unique_ptr<Backend>()> create;
};

struct ProviderFactory {
  std::string name;
  std::string description;
  std::function<std::string()> unavailable_reason;
  std::function<std::unique_ptr<gemm::Provider>()> create;
};

class PluginRegistry {
 public:
  void add_backend(BackendFactory f) { backends.push_back(std::move(f)); }
  void add_provider(ProviderFactory f) { providers.push_back(std::move(f)); }

  std::vector<BackendFactory> backends;
  std::vector<ProviderFactory> providers;
};

struct PluginLoadFailure {
  std::string plugin;  // file stem, e.g. "onednn"
  std::string reason;
};

struct LoadedPlugins {
  PluginRegistry registry;
  std::vector<std::string> loaded;
  std::vector<PluginLoadFailure> failed;
  std::string directory;  // where they were looked for
};

// Loads every plugin once per process (thread-safe) and returns what they registered.
// The directory is $LIBSCOUT_PLUGIN_DIR if set, else found next to libscout_core.
const LoadedPlugins& plugins();

}  // namespace libscout

#define LIBSCOUT_PLUGIN_ENTRY extern "C" __attribute__((visibility("default"))) void
