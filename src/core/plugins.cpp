#include "core/plugins.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace libscout {

namespace fs = std::filesystem;

namespace {

// build/lib/libscout_core.so -> build/plugins; <prefix>/lib/libscout_core.so ->
// <prefix>/lib/libscout/plugins.
std::string find_plugin_dir() {
  if (const char* env = std::getenv("LIBSCOUT_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&find_plugin_dir), &info) == 0 || !info.dli_fname) return {};
  const fs::path lib_dir = fs::path(info.dli_fname).parent_path();
  for (const fs::path& candidate : {lib_dir.parent_path() / "plugins", lib_dir / "libscout/plugins"}) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return {};
}

LoadedPlugins load_all() {
  LoadedPlugins out;
  out.directory = find_plugin_dir();
  if (out.directory.empty()) return out;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out.directory, ec)) {
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string stem = file.stem().string();
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = dlerror();
      out.failed.push_back({stem, err ? err : "dlopen failed"});
      continue;
    }
    using Entry = void (*)(PluginRegistry&);
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "libscout_register_plugin"));
    if (entry == nullptr) {
      out.failed.push_back({stem, "not a libscout plugin (no libscout_register_plugin)"});
      dlclose(handle);
      continue;
    }
    entry(out.registry);  // handles stay open for the life of the process
    out.loaded.push_back(stem);
  }
  return out;
}

}  // namespace

const LoadedPlugins& plugins() {
  static const LoadedPlugins loaded = load_all();
  return loaded;
}

}  // namespace libscout
