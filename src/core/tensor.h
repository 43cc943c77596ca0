// Float32 tensors. Every tensor at the engine's boundary is 4-D NCHW (batch, channels, height,
// width); a vector of features is (N, C, 1, 1). Storage is 64-byte aligned.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace libscout {

struct Shape {
  int n = 0, c = 0, h = 0, w = 0;

  std::size_t elements() const {
    return static_cast<std::size_t>(n) * c * h * w;
  }
  std::size_t image_elements() const {  // one batch item
    return static_cast<std::size_t>(c) * h * w;
  }
  std::size_t plane() const { return static_cast<std::size_t>(h) * w; }
  bool operator==(const Shape&) const = default;
  std::string str() const;  // "1x64x56x56"
};

struct AlignedFree {
  void operator()(float* p) const;
};

// Owns its storage. Moves are cheap, copies are explicit (clone()).
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape);  // zero-filled

  const Shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.elements(); }
  bool empty() const { return size() == 0; }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::span<float> span() { return {data_.get(), size()}; }
  std::span<const float> span() const { return {data_.get(), size()}; }
  float& operator[](std::size_t i) { return data_[i]; }
  float operator[](std::size_t i) const { return data_[i]; }

  Tensor clone() const;

 private:
  Shape shape_;
  std::unique_ptr<float[], AlignedFree> data_;
};

// 64-byte aligned float buffer of `count` elements, zero-filled.
std::unique_ptr<float[], AlignedFree> allocate_floats(std::size_t count);

}  // namespace libscout
