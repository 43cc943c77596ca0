// The per-layer placement problem and its exact solution.
//
// A network's layers, in the engine's topological order, each run on one of B backends. The
// engine groups consecutive layers of one backend into a segment; a value produced in one segment
// and read in another crosses a boundary in NCHW: the producing segment exports it (converts it
// from the backend's own layout) and every reading layer in a later segment imports it. The cost
// of a placement is
//   sum over layers i of run(i, b_i)
//   + for each value that crosses: export(producer, b_producer) once
//   + for each (layer, input) that reads a crossing value: import(layer, input, b_layer).
// The graph's own input and outputs are in NCHW whatever the placement: their conversions are part
// of run() and never charged here.
//
// Because segments are contiguous runs of layers, a value produced at layer j and read at layer
// i > j crosses exactly when the run that contains i starts after j. cheapest_placement() is a
// dynamic program over (layer, backend, start of the current run) and is exact for this model.
#pragma once

#include <limits>
#include <vector>

namespace libscout::placement {

inline constexpr double kUnsupported = std::numeric_limits<double>::infinity();

struct LayerCosts {
  std::vector<int> producers;  // the layer that produces each input; -1 for the graph's input
  bool output_is_graph_output = false;
  std::vector<double> run_ms;                  // [backend]; kUnsupported where it cannot run
  std::vector<std::vector<double>> import_ms;  // [input][backend]
  std::vector<double> export_ms;               // [backend]
};

struct PlacementProblem {
  int backends = 0;
  std::vector<LayerCosts> layers;  // topological order: producers[k] < the layer's index
};

// The model's cost of a placement (one backend index per layer); kUnsupported when a layer is on
// a backend that cannot run it.
double placement_cost(const PlacementProblem& p, const std::vector<int>& placement);

// The placement of least cost (exact). Throws Error when a layer has no backend that can run it
// or the problem is malformed.
std::vector<int> cheapest_placement(const PlacementProblem& p);

}  // namespace libscout::placement
