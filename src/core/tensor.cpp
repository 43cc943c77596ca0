#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace libscout {

std::string Shape::str() const {
  return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
         std::to_string(w);
}

void AlignedFree::operator()(float* p) const { std::free(p); }

std::unique_ptr<float[], AlignedFree> allocate_floats(std::size_t count) {
  constexpr std::size_t kAlign = 64;
  std::size_t bytes = (count * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  if (bytes == 0) bytes = kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::unique_ptr<float[], AlignedFree>(static_cast<float*>(p));
}

Tensor::Tensor(Shape shape) : shape_(shape), data_(allocate_floats(shape.elements())) {}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  if (size() != 0) std::memcpy(t.data(), data(), size() * sizeof(float));
  return t;
}

}  // namespace libscout
