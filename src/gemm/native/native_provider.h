// The `native` GEMM provider: libscout's own SGEMM (sgemm_native.h), with the fastest micro-kernel
// this CPU supports chosen at run time and its own thread pool.
#pragma once

#include <memory>

#include "gemm/gemm_provider.h"

namespace libscout::gemm {

// The provider registry's entry point for "native". Always available (the portable reference
// micro-kernel runs anywhere). One thread until set_threads() says otherwise.
std::unique_ptr<Provider> make_native_provider();

}  // namespace libscout::gemm
