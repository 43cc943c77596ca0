// The placement search against brute force: on small graphs with known per-layer costs (run,
// import and export at segment boundaries), cheapest_placement() must find a placement whose cost
// equals the least over every placement.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "placement/placement_search.h"

namespace libscout::placement {
namespace {

// Random costs on a graph whose layer i reads `producers[i]`.
PlacementProblem random_problem(const std::vector<std::vector<int>>& producers, int backends,
                                std::mt19937& rng, double unsupported_share) {
  std::uniform_real_distribution<double> run(0.5, 10.0), convert(0.0, 6.0), unit(0.0, 1.0);
  PlacementProblem p;
  p.backends = backends;
  for (std::size_t i = 0; i < producers.size(); ++i) {
    LayerCosts l;
    l.producers = producers[i];
    l.output_is_graph_output = i + 1 == producers.size();
    for (int b = 0; b < backends; ++b) {
      // Backend 0 runs every layer (the fallback); the others decline some.
      l.run_ms.push_back(b > 0 && unit(rng) < unsupported_share ? kUnsupported : run(rng));
      l.export_ms.push_back(convert(rng));
    }
    for (std::size_t k = 0; k < l.producers.size(); ++k) {
      std::vector<double> per_backend;
      for (int b = 0; b < backends; ++b) per_backend.push_back(convert(rng));
      l.import_ms.push_back(per_backend);
    }
    p.layers.push_back(std::move(l));
  }
  return p;
}

double brute_force_least(const PlacementProblem& p) {
  const int n = static_cast<int>(p.layers.size());
  std::vector<int> placement(n, 0);
  double best = kUnsupported;
  for (;;) {
    best = std::min(best, placement_cost(p, placement));
    int i = 0;
    while (i < n && ++placement[i] == p.backends) placement[i++] = 0;
    if (i == n) return best;
  }
}

// A chain, a SqueezeNet fire module (squeeze, expand 1x1 and 3x3 reading it, concat), a residual
// block (a value read two layers later) and two fire modules in a row.
const std::vector<std::vector<std::vector<int>>>& graphs() {
  static const std::vector<std::vector<std::vector<int>>> g = {
      {{-1}, {0}, {1}, {2}, {3}, {4}, {5}},
      {{-1}, {0}, {1}, {1}, {2, 3}, {4}},
      {{-1}, {0}, {1}, {2}, {1, 3}, {4}, {5}},
      {{-1}, {0}, {0}, {1, 2}, {3}, {4}, {4}, {5, 6}},
  };
  return g;
}

TEST(PlacementSearch, FindsTheLeastCostOnSmallGraphsAsBruteForceDoes) {
  std::mt19937 rng(7);
  for (const auto& producers : graphs()) {
    for (int backends : {2, 3}) {
      for (int trial = 0; trial < 40; ++trial) {
        const PlacementProblem p = random_problem(producers, backends, rng, 0.2);
        const std::vector<int> found = cheapest_placement(p);
        const double least = brute_force_least(p);
        ASSERT_NEAR(placement_cost(p, found), least, 1e-9 * std::max(1.0, least))
            << "graph " << &producers - graphs().data() << ", " << backends << " backends, trial "
            << trial;
      }
    }
  }
}

TEST(PlacementSearch, ConversionsDecideBetweenMixingAndOneBackend) {
  // Three layers in a chain; backend 1 is faster on the middle layer by 3 ms.
  PlacementProblem p;
  p.backends = 2;
  for (int i = 0; i < 3; ++i) {
    LayerCosts l;
    l.producers = {i - 1};
    l.output_is_graph_output = i == 2;
    l.run_ms = {5.0, i == 1 ? 2.0 : 7.0};
    l.export_ms = {0.5, 0.5};
    l.import_ms = {{0.5, 0.5}};
    p.layers.push_back(l);
  }
  // Switching costs 2 x (export + import) = 2 ms < 3 ms gained: mix.
  EXPECT_EQ(cheapest_placement(p), (std::vector<int>{0, 1, 0}));
  EXPECT_DOUBLE_EQ(placement_cost(p, {0, 1, 0}), 5 + 2 + 5 + 2.0);
  // At 1 ms per conversion the switches cost 4 ms > 3 ms: one backend.
  for (LayerCosts& l : p.layers) {
    l.export_ms = {1.0, 1.0};
    l.import_ms = {{1.0, 1.0}};
  }
  EXPECT_EQ(cheapest_placement(p), (std::vector<int>{0, 0, 0}));
}

TEST(PlacementSearch, ALayerNoBackendRunsAndMalformedProblemsAreErrors) {
  std::mt19937 rng(1);
  PlacementProblem p = random_problem(graphs()[0], 2, rng, 0.0);
  p.layers[3].run_ms = {kUnsupported, kUnsupported};
  EXPECT_THROW(cheapest_placement(p), Error);
  p = random_problem(graphs()[0], 2, rng, 0.0);
  p.layers[2].producers = {4};  // reads a later layer
  EXPECT_THROW(cheapest_placement(p), Error);
  p = random_problem(graphs()[0], 2, rng, 0.0);
  p.layers[1].export_ms.pop_back();
  EXPECT_THROW(cheapest_placement(p), Error);
  EXPECT_THROW(placement_cost(p, std::vector<int>(7, 0)), Error);
}

}  // namespace
}  // namespace libscout::placement
