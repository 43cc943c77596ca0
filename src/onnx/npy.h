// NumPy's .npy format (version 1.0, 2.0 or 3.0 headers), float32 in C order only: what
// `libscout run --input/--output` reads and writes, so that a user can compare libscout's outputs
// with their framework's (numpy.load / numpy.save). The header is validated strictly: any other
// data type, Fortran order, a malformed header or a data size that does not match the shape is
// an Error naming the file and the problem.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace libscout {

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

// Parses the bytes of a .npy file; `what` names it in errors. Refuses data over `max_bytes`.
NpyArray parse_npy(std::string_view bytes, const std::string& what, std::size_t max_bytes);
NpyArray read_npy(const std::string& path, std::size_t max_bytes);

// The bytes of a version 1.0 .npy file ('<f4', C order), and writing them to `path`.
std::string npy_bytes(const std::vector<std::int64_t>& shape, std::span<const float> data);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               std::span<const float> data);

}  // namespace libscout
