// Activation buffers inside a library backend's segment: a released buffer is handed to the next
// value that fits in it (the smallest that fits), so a segment holds about as many buffers as it
// has values alive at once.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace libscout {

class BufferPool {
 public:
  // `slack_floats`: extra floats allocated past every buffer's end (XNNPACK's kernels may read
  // XNN_EXTRA_BYTES beyond an input).
  explicit BufferPool(std::size_t slack_floats = 0) : slack_(slack_floats) {}

  // A buffer of at least `floats` floats, marked busy until release(); returns its id.
  int acquire(std::size_t floats) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(buffers_.size()); ++i) {
      if (!busy_[i] && sizes_[i] >= floats && (best < 0 || sizes_[i] < sizes_[best])) best = i;
    }
    if (best < 0) {
      buffers_.push_back(allocate_floats(floats + slack_));
      sizes_.push_back(floats);
      busy_.push_back(false);
      best = static_cast<int>(buffers_.size()) - 1;
    }
    busy_[best] = true;
    return best;
  }
  void release(int id) { busy_[id] = false; }
  float* data(int id) { return buffers_[id].get(); }

 private:
  std::size_t slack_;
  std::vector<std::unique_ptr<float[], AlignedFree>> buffers_;
  std::vector<std::size_t> sizes_;
  std::vector<bool> busy_;
};

}  // namespace libscout
