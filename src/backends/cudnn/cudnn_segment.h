// One segment of layers on the GPU. prepare() (the constructor) plans the values in one device
// arena, uploads the weights, chooses how each layer runs by measuring the candidates
// (cudnn_choose.h), then records one whole inference into a CUDA graph: input upload from pinned
// staging, every layer, download of the exported values. run() copies the input into the staging
// buffer, replays the graph (or, with a profiler attached, runs layer by layer, synchronizing
// around each), and copies the exported values out. Every intermediate stays on the device.
//
// Two ways of overlapping work are measured in prepare() and kept only where they are faster:
// - independent convolutions that follow each other (SqueezeNet's expand pairs) on two streams,
//   with a second set of library handles and workspace (and only if the outputs are identical);
// - for a large input, micro-batches: the batch is uploaded in parts on a copy stream while the
//   layers already run on the parts that have arrived (the layers' methods are then chosen for
//   the micro-batch size).
#pragma once

#include <memory>
#include <string>
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
  // One way of running the whole segment.
  struct Build {
    int micro_batches = 1;
    std::vector<Op> ops;
    bool two_streams = false;
    double ms = 0;  // one inference, as measured
    std::size_t workspace = 0, side_workspace = 0;
    std::string streams_report;
  };

  void allocate();
  Build build(int micro_batches, const ExecOptions& opts);
  void choose_layers(Build& b, const ExecOptions& opts);
  void choose_streams(Build& b, const ExecOptions& opts);
  int micro_batch_option() const;
  void enqueue(cudaStream_t s, const Build& b, bool two_streams);
  void enqueue_uploads(cudaStream_t s, int micro_batches);
  void enqueue_downloads(cudaStream_t s);
  void run_profiled(const ExecContext& ctx);
  void describe(const ExecOptions& opts);
  int batch() const { return plan_.graph().shape(plan_.graph().input).n; }

  SegmentPlan plan_;
  std::shared_ptr<Library> lib_, side_lib_;
  cuda::DeviceBuffer<float> arena_;
  Workspace workspace_, side_workspace_;
  cuda::Stream side_stream_, copy_stream_;
  cuda::Event fork_, join_, copy_fork_;
  std::vector<std::unique_ptr<cuda::Event>> uploaded_;  // one per micro-batch
  std::vector<Transfer> uploads_, downloads_;
  Build build_;
  std::string micro_batch_report_;
  std::unique_ptr<cuda::ReplayableWork> work_;
  cuda::Event start_, stop_;
  double last_ms_ = -1.0;
  nlohmann::json settings_ = nlohmann::json::object();
};

}  // namespace libscout::cudnn
