#include "core/plugins.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

namespace libscout {

namespace fs = std::filesystem;

namespace {

// build/lib/libscout_core.so -> build/plugins; <prefix>/lib/libscout_core.so ->
// <prefix>/lib/libscout/plugins. Every folder looked in goes to `searched`.
std::string find_plugin_dir(std::vector<std::string>& searched) {
  if (const char* env = std::getenv("LIBSCOUT_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    searched.push_back(env);
    return env;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&plugin_file_provides), &info) == 0 || !info.dli_fname) {
    return {};
  }
  const fs::path lib_dir = fs::path(info.dli_fname).parent_path();
  for (const fs::path& candidate : {lib_dir.parent_path() / "plugins", lib_dir / "libscout/plugins"}) {
    searched.push_back(candidate.lexically_normal().string());
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return {};
}

LoadedPlugins load_all() {
  LoadedPlugins out;
  out.directory = find_plugin_dir(out.searched);
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
      out.failed.push_back({stem, err ? err : "dlopen failed", plugin_file_provides(file)});
      continue;
    }
    using Entry = void (*)(PluginRegistry&);
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "libscout_register_plugin"));
    if (entry == nullptr) {
      out.failed.push_back({stem, "not a libscout plugin (no libscout_register_plugin)",
                            plugin_file_provides(file)});
      dlclose(handle);
      continue;
    }
    const std::size_t backends = out.registry.backends.size();
    const std::size_t providers = out.registry.providers.size();
    entry(out.registry);  // handles stay open for the life of the process
    out.loaded.push_back(stem);
    std::vector<std::string> registered;
    for (std::size_t i = backends; i < out.registry.backends.size(); ++i) {
      registered.push_back("backend:" + out.registry.backends[i].name);
    }
    for (std::size_t i = providers; i < out.registry.providers.size(); ++i) {
      registered.push_back("provider:" + out.registry.providers[i].name);
    }
    out.registered.emplace_back(stem, std::move(registered));
    out.declared.emplace_back(stem, plugin_file_provides(file));
  }
  return out;
}

}  // namespace

std::vector<std::string> plugin_file_provides(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  static const std::string marker = "libscout-plugin-provides:";
  std::vector<std::string> out;
  for (std::size_t at = bytes.find(marker); at != std::string::npos;
       at = bytes.find(marker, at + 1)) {
    const std::size_t begin = at + marker.size();
    const std::size_t end = bytes.find('\0', begin);
    if (end == std::string::npos || end - begin > 200) continue;
    const std::string what = bytes.substr(begin, end - begin);
    if ((what.rfind("backend:", 0) == 0 || what.rfind("provider:", 0) == 0) &&
        std::find(out.begin(), out.end(), what) == out.end()) {
      out.push_back(what);
    }
  }
  return out;
}

const LoadedPlugins& plugins() {
  static const LoadedPlugins loaded = load_all();
  return loaded;
}

}  // namespace libscout
