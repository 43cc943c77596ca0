// Wall-clock timing helpers of the measurements. LayerTimer: a LayerProfiler that keeps every layer's wall times (steady_clock, milliseconds), one sample per
// profiled inference: what --per-layer tables and the per-layer planner are built from.
#pragma once

#include <chrono>
#include <vector>

#include "core/backend.h"

namespace libscout {

// Milliseconds of steady_clock since t0.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class LayerTimer final : public LayerProfiler {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LayerTimer(std::size_t layers = 0) : samples_(layers), start_(layers) {}
  void begin(LayerId l) override { start_[l] = Clock::now(); }
  void end(LayerId l) override { samples_[l].push_back(ms_since(start_[l])); }
  // Samples of each layer, indexed by LayerId; empty for layers no segment ran (in-place concats).
  const std::vector<std::vector<double>>& samples() const { return samples_; }

 private:
  std::vector<std::vector<double>> samples_;
  std::vector<Clock::time_point> start_;
};

}  // namespace libscout
