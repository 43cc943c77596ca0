// Providers compiled into libscout_core (the CBLAS libraries are opened at run time instead).
#pragma once

#include <memory>

#include "gemm/gemm_provider.h"

namespace libscout::gemm {

std::unique_ptr<Provider> make_naive_provider();
std::unique_ptr<Provider> make_eigen_provider();

}  // namespace libscout::gemm
