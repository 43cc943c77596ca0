// Which installed package a shared library comes from, for the versions of libraries that report
// none themselves (ATLAS, netlib BLAS, XNNPACK): Debian's dpkg database, read directly.
#pragma once

#include <string>

namespace libscout::platform {

// The file of the loaded shared object that holds `symbol` (dladdr); "" when unknown.
std::string library_file_of(const void* symbol);

// "libatlas3-base 3.10.3-13" for a file dpkg installed (the path as given or its canonical
// form); "" when no package lists it or there is no dpkg database (other distributions, a
// sysroot under qemu). Reads $LIBSCOUT_DPKG_ROOT/var/lib/dpkg (default: /).
std::string package_version_of_file(const std::string& path);

// "<file name> (<package version>)" of the object holding `symbol`, the best description of a
// library without a version call: "libblas.so.3.10.3 (libatlas3-base 3.10.3-13)"; "" unknown.
std::string library_version_from_file(const void* symbol);

}  // namespace libscout::platform
