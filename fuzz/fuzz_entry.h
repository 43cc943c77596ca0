// The fuzz target's entry point, shared by the libFuzzer build and the seed driver.
#pragma once

#include <cstddef>
#include <cstdint>

namespace libscout::fuzz {

enum class ImportOutcome { kRefused, kImported, kRan };

// Imports `data` as an ONNX model; runs a small graph once on the reference backend.
ImportOutcome import_one(const std::uint8_t* data, std::size_t size);

}  // namespace libscout::fuzz
