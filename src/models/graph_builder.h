// Builds graphs layer by layer, inferring shapes as it goes and filling constants with
// deterministic seeded values (no downloads): the same name and seed give the same weights on
// every machine and architecture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"

namespace libscout {

// A small counter-based generator (SplitMix64): portable, unlike std's distributions.
class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  float uniform(float lo, float hi);  // [lo, hi)

 private:
  std::uint64_t state_;
};

// Fills `t` with uniform values in [lo, hi) from a generator seeded by (seed, name).
void fill_uniform(Tensor& t, std::uint64_t seed, const std::string& name, float lo, float hi);

class GraphBuilder {
 public:
  GraphBuilder(std::string name, Shape input, std::uint64_t seed);

  ValueId input() const { return graph_.input; }
  const Shape& shape(ValueId v) const { return graph_.shape(v); }

  // Square kernel, symmetric padding; weights He-uniform, bias small uniform.
  ValueId conv(ValueId x, const std::string& name, int out_channels, int kernel, int stride,
               int pad, int groups = 1, bool bias = true);
  ValueId conv(ValueId x, const std::string& name, const Conv2dParams& p, bool bias = true);
  ValueId batch_norm(ValueId x, const std::string& name);
  ValueId relu(ValueId x, const std::string& name);
  ValueId relu6(ValueId x, const std::string& name);
  ValueId max_pool(ValueId x, const std::string& name, int kernel, int stride, int pad = 0,
                   bool ceil_mode = true);
  ValueId avg_pool(ValueId x, const std::string& name, int kernel, int stride, int pad = 0,
                   bool ceil_mode = true, bool count_include_pad = true);
  ValueId global_avg_pool(ValueId x, const std::string& name);
  ValueId concat(const std::vector<ValueId>& xs, const std::string& name);
  ValueId fully_connected(ValueId x, const std::string& name, int out_features);
  ValueId softmax(ValueId x, const std::string& name);
  ValueId add(ValueId a, ValueId b, const std::string& name);
  ValueId flatten(ValueId x, const std::string& name);

  Graph finish(std::vector<ValueId> outputs);

 private:
  ValueId append(Layer layer);

  Graph graph_;
  std::uint64_t seed_;
};

}  // namespace libscout
