// A CBLAS library opened at run time with dlopen(RTLD_LOCAL), so that OpenBLAS, BLIS, ATLAS and
// netlib BLAS, which all export the same cblas_sgemm, live side by side in one process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gemm/gemm_provider.h"

namespace libscout::gemm {

// How to find and drive one CBLAS library.
struct CblasLibrarySpec {
  std::string name;                     // provider name, e.g. "openblas"
  std::string description;
  std::vector<std::string> candidates;  // paths or sonames tried in order
  std::string set_threads_symbol;       // e.g. "openblas_set_num_threads"; empty: single-threaded
  bool threads_arg_is_64bit = false;    // BLIS's dim_t
  std::string version_symbol;           // returns const char*; empty if none
  // Returns the thread count the library will use (int; BLIS: dim_t); empty if none, then the
  // count set is taken as the answer.
  std::string get_threads_symbol;
};

// The libraries Debian installs, at the paths where it installs them for this architecture.
std::vector<CblasLibrarySpec> debian_cblas_libraries();

// Opens the library; throws Unavailable naming every path tried and the loader's message.
std::unique_ptr<Provider> open_cblas_library(const CblasLibrarySpec& spec);

// Why the library cannot be opened here, or empty if it can (it then stays loaded).
std::string probe_cblas_library(const CblasLibrarySpec& spec);

}  // namespace libscout::gemm
