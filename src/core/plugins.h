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
  DeviceKind device = DeviceKind::kCpu;  // where its layers run (picks the power meter)
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
  // What the plugin declares it provides (LIBSCOUT_PLUGIN_PROVIDES), read from the file without
  // loading it: "backend:onednn", "provider:onednn". Empty for a file that declares nothing.
  std::vector<std::string> provides;
};

struct LoadedPlugins {
  PluginRegistry registry;
  std::vector<std::string> loaded;
  std::vector<PluginLoadFailure> failed;
  std::string directory;  // where they were found ("" when no folder was found)
  std::vector<std::string> searched;  // every folder looked in, in order
  // Per loaded plugin (by file stem): what it declares and what it registered, which must agree.
  std::vector<std::pair<std::string, std::vector<std::string>>> declared, registered;
};

// The declarations LIBSCOUT_PLUGIN_PROVIDES left in a plugin file, read without loading it.
std::vector<std::string> plugin_file_provides(const std::string& path);

// Loads every plugin once per process (thread-safe) and returns what they registered.
// The directory is $LIBSCOUT_PLUGIN_DIR if set, else found next to libscout_core.
const LoadedPlugins& plugins();

}  // namespace libscout

#define LIBSCOUT_PLUGIN_ENTRY extern "C" __attribute__((visibility("default"))) void

// Declares, in the plugin file itself, one backend or GEMM provider the plugin registers, so that
// a plugin that cannot be loaded (its library is missing) is still listed under the right kind
// and name: LIBSCOUT_PLUGIN_PROVIDES("backend", "onednn"); LIBSCOUT_PLUGIN_PROVIDES("provider",
// "onednn"). A test checks that every loaded plugin declares exactly what it registers.
#define LIBSCOUT_PLUGIN_PROVIDES_JOIN2(a, b) a##b
#define LIBSCOUT_PLUGIN_PROVIDES_JOIN(a, b) LIBSCOUT_PLUGIN_PROVIDES_JOIN2(a, b)
#define LIBSCOUT_PLUGIN_PROVIDES(kind, name)                                          \
  [[gnu::used]] static const char LIBSCOUT_PLUGIN_PROVIDES_JOIN(                      \
      libscout_plugin_provides_, __COUNTER__)[] = "libscout-plugin-provides:" kind ":" name
