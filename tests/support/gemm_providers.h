// The GEMM provider suites are parameterized over every provider libscout lists, available here or
// not, so that each one appears in the results: one that cannot run here (cublas without a GPU,
// clblast without an OpenCL platform) is skipped with the reason.
#pragma once

#include <string>
#include <vector>

#include "gemm/gemm_provider.h"

namespace libscout::testing {

inline std::vector<std::string> listed_providers() {
  std::vector<std::string> out;
  for (const gemm::ProviderInfo& p : gemm::list_providers()) out.push_back(p.name);
  return out;
}

// Empty when the provider can run here; otherwise why not.
inline std::string provider_unavailable_reason(const std::string& name) {
  for (const gemm::ProviderInfo& p : gemm::list_providers()) {
    if (p.name == name) {
      return p.available ? std::string() : name + " is unavailable here: " + p.reason;
    }
  }
  return name + " is not listed";
}

}  // namespace libscout::testing

// Skips the current test, with the reason, when the provider cannot run here.
#define LIBSCOUT_SKIP_UNLESS_PROVIDER_AVAILABLE(name)                                          \
  if (const std::string why_ = ::libscout::testing::provider_unavailable_reason(name);         \
      !why_.empty())                                                                           \
  GTEST_SKIP() << why_
