#include "platform/packages.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace libscout::platform {

namespace fs = std::filesystem;

namespace {

fs::path dpkg_dir() {
  const char* root = std::getenv("LIBSCOUT_DPKG_ROOT");
  return fs::path(root != nullptr && *root != '\0' ? root : "/") / "var/lib/dpkg";
}

// The package ("libatlas3-base:amd64") whose file list names one of `paths`, else "".
std::string owning_package(const fs::path& info_dir, const std::vector<std::string>& paths) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(info_dir, ec)) {
    if (entry.path().extension() != ".list") continue;
    std::ifstream f(entry.path());
    for (std::string line; std::getline(f, line);) {
      for (const std::string& p : paths) {
        if (line == p) return entry.path().stem().string();
      }
    }
  }
  return {};
}

// The Version of `package` ("name" or "name:arch") in dpkg's status file, else "".
std::string installed_version(const fs::path& status_file, const std::string& package) {
  const auto colon = package.find(':');
  const std::string name = package.substr(0, colon);
  const std::string arch = colon == std::string::npos ? "" : package.substr(colon + 1);
  std::ifstream f(status_file);
  std::string line, current, current_arch, version;
  auto matches = [&] { return current == name && (arch.empty() || current_arch == arch); };
  while (std::getline(f, line)) {
    if (line.empty()) {
      if (matches() && !version.empty()) return version;
      current.clear(), current_arch.clear(), version.clear();
    } else if (line.rfind("Package: ", 0) == 0) {
      current = line.substr(9);
    } else if (line.rfind("Architecture: ", 0) == 0) {
      current_arch = line.substr(14);
    } else if (line.rfind("Version: ", 0) == 0) {
      version = line.substr(9);
    }
  }
  return matches() ? version : std::string();
}

}  // namespace

std::string library_file_of(const void* symbol) {
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

std::string package_version_of_file(const std::string& path) {
  if (path.empty()) return {};
  std::vector<std::string> candidates = {path};
  std::error_code ec;
  const fs::path canonical = fs::canonical(path, ec);
  if (!ec) {
    candidates.push_back(canonical.string());
    // Merged /usr: dpkg may list /lib/... for a file now reached through /usr/lib/... and back.
    const std::string c = canonical.string();
    if (c.rfind("/usr/lib/", 0) == 0) candidates.push_back(c.substr(4));
    if (c.rfind("/lib/", 0) == 0) candidates.push_back("/usr" + c);
  }
  const std::string package = owning_package(dpkg_dir() / "info", candidates);
  if (package.empty()) return {};
  const std::string version = installed_version(dpkg_dir() / "status", package);
  const std::string name = package.substr(0, package.find(':'));
  return version.empty() ? name : name + " " + version;
}

std::string library_version_from_file(const void* symbol) {
  const std::string file = library_file_of(symbol);
  if (file.empty()) return {};
  std::error_code ec;
  const fs::path canonical = fs::canonical(file, ec);
  const std::string shown = (ec ? fs::path(file) : canonical).filename().string();
  const std::string package = package_version_of_file(file);
  return package.empty() ? shown : shown + " (" + package + ")";
}

}  // namespace libscout::platform
