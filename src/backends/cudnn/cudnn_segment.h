// One segment of layers on the GPU. prepare() (the constructor) plans the values in one device
// arena, uploads the weights, chooses how each layer runs by measuring the candidates
// (cudnn_choose.h), then records one whole inference into a CUDA graph: input upload from pinned
// staging, every layer, download of the exported values. run() copies the input into the staging
// buffer, replays the graph (or, with a profiler attached, runs layer by layer, synchronizing
// around each), and copies the exported values out. Every intermediate stays on the device.
//
// Independent convolutions that follow each other (SqueezeNet's expand pairs) may run on two
// streams at once, with a second set of library handles and workspace: prepare() records the
// inference both ways, checks that they give the same outputs, and keeps the faster.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/cudnn/cudnn_choose.h"
#include "backends/cudnn/cudnn_plan.h"
#include "core/backend.h"
#include "cuda/cuda_graph.h"

namespace libscout::cudnn {

class CudnnSegment final : public Segment {
 public:
  CudnnSegment(const SegmentSpec& spec, const ExecOptions& opts, std::shared_ptr<Library> lib,
               std::shared_ptr<Library> side_lib);
  void run(const ExecContext& ctx) override;
  double last_device_ms() const override { return last_ms_; }
  // What was chosen, for Backend::settings(): a flat object.
  const nlohmann::json& settings() const { return settings_; }

 private:
  struct Transfer {
    ValueId value;
    DeviceView view;
    cuda::PinnedBuffer<float> staging;
  };
  struct Op {
    LayerId id;
    Choice choice;
    bool concurrent_with_next = false;
  };

  void allocate(const SegmentSpec& spec);
  void choose_all(const ExecOptions& opts);
  void choose_concurrency(const ExecOptions& opts);
  void enqueue(cudaStream_t s, bool concurrent);
  void run_profiled(const ExecContext& ctx);
  void describe(const ExecOptions& opts);

  SegmentPlan plan_;
  std::shared_ptr<Library> lib_, side_lib_;
  cuda::DeviceBuffer<float> arena_;
  Workspace workspace_, side_workspace_;
  cuda::Stream side_stream_;
  cuda::Event fork_, join_;
  std::string concurrency_;  // what choose_concurrency() found
  std::vector<Transfer> uploads_, downloads_;
  std::vector<Op> ops_;
  std::unique_ptr<cuda::ReplayableWork> work_;
  cuda::Event start_, stop_;
  double last_ms_ = -1.0;
  nlohmann::json settings_ = nlohmann::json::object();
};

}  // namespace libscout::cudnn
