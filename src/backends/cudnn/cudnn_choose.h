// Choosing how a layer runs by measuring: every way of running it (cuDNN algorithms, fused or
// not, a cuBLAS GEMM, a plain kernel) is a Candidate. In prepare() the chooser fills the layer's
// inputs with seeded values, runs the first candidate (the check: the plainest exact method) and
// keeps its output, runs each other candidate once and compares its output with the check's
// (relative L2 error), then times the ones that agree the way they will run: kReps runs captured
// in one CUDA graph and replayed (or launched one by one when CUDA graphs are off). The fastest
// wins. A candidate that throws (unsupported by the library) or disagrees is left out, and the
// reason is kept for the report.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backends/cudnn/cudnn_common.h"

namespace libscout::cudnn {

struct Candidate {
  std::string name;
  std::size_t workspace = 0;  // bytes of the shared workspace it needs
  std::function<void(const Exec&)> run;
};

struct Choice {
  std::string name;
  std::size_t workspace = 0;
  std::function<void(const Exec&)> run;
  double device_us = 0;  // per run, as measured
  std::string report;    // "name 12.3 us; others: ... 15.0 us, ... (rejected: why)"
};

class Chooser {
 public:
  Chooser(Library& lib, Workspace& workspace, bool use_graph, double tolerance);

  // `inputs` are filled with seeded values (seed), then the candidates write `out`.
  Choice choose(std::vector<Candidate> candidates, std::span<const DeviceView> inputs,
                const DeviceView& out, std::uint32_t seed);
  cudaStream_t stream() const { return stream_.get(); }

 private:
  double once_us(const Candidate& c);
  double time_us(const Candidate& c, double once);
  double error_against_check(const DeviceView& out);

  Library& lib_;
  Workspace& workspace_;
  bool use_graph_;
  double tolerance_;
  cuda::Stream stream_;
  cuda::DeviceBuffer<float> check_;
  cuda::DeviceBuffer<double> error_;
};

}  // namespace libscout::cudnn
