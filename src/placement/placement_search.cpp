#include "placement/placement_search.h"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "core/error.h"

namespace libscout::placement {
namespace {

void check(const PlacementProblem& p) {
  if (p.backends <= 0) throw Error("a placement problem needs at least one backend");
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const LayerCosts& l = p.layers[i];
    const auto b = static_cast<std::size_t>(p.backends);
    bool sized = l.run_ms.size() == b && l.export_ms.size() == b &&
                 l.import_ms.size() == l.producers.size();
    for (const auto& per_input : l.import_ms) sized = sized && per_input.size() == b;
    if (!sized) throw Error("placement problem: layer " + std::to_string(i) + " is malformed");
    bool runs_somewhere = false;
    for (double ms : l.run_ms) runs_somewhere = runs_somewhere || std::isfinite(ms);
    if (!runs_somewhere) {
      throw Error("placement problem: no backend can run layer " + std::to_string(i));
    }
    for (int producer : l.producers) {
      if (producer < -1 || producer >= static_cast<int>(i)) {
        throw Error("placement problem: layer " + std::to_string(i) +
                    " reads a layer that is not before it");
      }
    }
  }
}

// The last layer that reads each layer's output (-1: none).
std::vector<int> last_readers(const PlacementProblem& p) {
  std::vector<int> last(p.layers.size(), -1);
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    for (int producer : p.layers[i].producers) {
      if (producer >= 0) last[producer] = static_cast<int>(i);
    }
  }
  return last;
}

// Imports of layer i on backend b when its run starts at `start`: every input produced before it.
double import_cost(const LayerCosts& l, int b, int start) {
  double sum = 0;
  for (std::size_t k = 0; k < l.producers.size(); ++k) {
    if (l.producers[k] >= 0 && l.producers[k] < start) sum += l.import_ms[k][b];
  }
  return sum;
}

// Exports of a run [start, end] on backend b: each value it produces that a later layer reads.
double export_cost(const PlacementProblem& p, const std::vector<int>& last_reader, int b,
                   int start, int end) {
  double sum = 0;
  for (int j = start; j <= end; ++j) {
    const LayerCosts& l = p.layers[j];
    if (last_reader[j] > end && !l.output_is_graph_output) sum += l.export_ms[b];
  }
  return sum;
}

}  // namespace

double placement_cost(const PlacementProblem& p, const std::vector<int>& placement) {
  check(p);
  const int n = static_cast<int>(p.layers.size());
  if (static_cast<int>(placement.size()) != n) throw Error("placement of the wrong length");
  const std::vector<int> last_reader = last_readers(p);
  double total = 0;
  int start = 0;
  for (int i = 0; i < n; ++i) {
    const int b = placement[i];
    if (b < 0 || b >= p.backends) throw Error("placement names no backend");
    if (i > 0 && b != placement[i - 1]) start = i;
    total += p.layers[i].run_ms[b] + import_cost(p.layers[i], b, start);
    if (i + 1 == n || placement[i + 1] != b) total += export_cost(p, last_reader, b, start, i);
  }
  return total;
}

std::vector<int> cheapest_placement(const PlacementProblem& p) {
  check(p);
  const int n = static_cast<int>(p.layers.size());
  const int nb = p.backends;
  if (n == 0) return {};
  const std::vector<int> last_reader = last_readers(p);
  // cost[(i * nb + b) * n + s]: least cost of layers 0..i with layer i on b in a run from s,
  // counting the exports of every run that ended before s. For s == i, `from` holds the state
  // of layer i - 1 it came from.
  const auto at = [&](int i, int b, int s) { return (static_cast<std::size_t>(i) * nb + b) * n + s; };
  std::vector<double> cost(static_cast<std::size_t>(n) * nb * n, kUnsupported);
  std::vector<std::pair<int, int>> from(cost.size(), {-1, -1});
  for (int b = 0; b < nb; ++b) cost[at(0, b, 0)] = p.layers[0].run_ms[b];
  for (int i = 0; i + 1 < n; ++i) {
    for (int b = 0; b < nb; ++b) {
      for (int s = 0; s <= i; ++s) {
        const double c = cost[at(i, b, s)];
        if (std::isinf(c)) continue;
        const LayerCosts& next = p.layers[i + 1];
        // The run goes on with layer i + 1.
        const double go_on = c + next.run_ms[b] + import_cost(next, b, s);
        if (go_on < cost[at(i + 1, b, s)]) cost[at(i + 1, b, s)] = go_on;
        // The run ends at i; layer i + 1 starts one on another backend.
        const double ended = c + export_cost(p, last_reader, b, s, i);
        for (int b2 = 0; b2 < nb; ++b2) {
          if (b2 == b) continue;
          const double start = ended + next.run_ms[b2] + import_cost(next, b2, i + 1);
          if (start < cost[at(i + 1, b2, i + 1)]) {
            cost[at(i + 1, b2, i + 1)] = start;
            from[at(i + 1, b2, i + 1)] = {b, s};
          }
        }
      }
    }
  }
  int best_b = -1, best_s = -1;
  double best = kUnsupported;
  for (int b = 0; b < nb; ++b) {
    for (int s = 0; s < n; ++s) {
      if (cost[at(n - 1, b, s)] < best) {
        best = cost[at(n - 1, b, s)];
        best_b = b;
        best_s = s;
      }
    }
  }
  if (best_b < 0) throw Error("no placement runs every layer: a layer has no backend");
  std::vector<int> placement(n);
  for (int i = n - 1, b = best_b, s = best_s; i >= 0; --i) {
    placement[i] = b;
    if (i == s && i > 0) std::tie(b, s) = from[at(i, b, s)];
  }
  return placement;
}

}  // namespace libscout::placement
