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
// - for a large input, micro-batches: the input is uploaded in parts on a copy stream, and the
//   first layers (as many as take about as long as the upload) run on each part as it arrives;
//   the rest runs on the whole batch. This second build has its own arena and its own choices
//   (the prefix's made for the micro-batch size), and is kept only if its outputs agree with the
//   first build's and it is faster.
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
  // One way of running the whole segment, with its own plan and arena.
  struct Build {
    std::unique_ptr<SegmentPlan> plan;
    cuda::DeviceBuffer<float> arena;
    std::vector<Transfer> uploads, downloads;
    int micro_batches = 1;
    std::size_t prefix_ops = 0;  // ops run once per micro-batch; the rest on the whole batch
    std::vector<Op> ops;
    bool two_streams = false;
    double ms = 0;  // one inference, as measured
    std::size_t workspace = 0, side_workspace = 0;
    std::string streams_report;
  };

  Build make_build(const SegmentSpec& spec, int prefix_layers, int micro_batches,
                   const ExecOptions& opts);
  void try_micro_batches(const SegmentSpec& spec, const ExecOptions& opts);
  void allocate(Build& b);
  void choose_layers(Build& b, int prefix_layers, const ExecOptions& opts);
  void choose_streams(Build& b, const ExecOptions& opts);
  int micro_batch_option() const;
  void enqueue(cudaStream_t s, const Build& b, bool two_streams);
  void enqueue_uploads(cudaStream_t s, const Build& b, int micro_batches);
  void enqueue_ops(const Build& b, std::size_t begin, std::size_t end, bool two_streams,
                   const Exec& main, const Exec& side);
  void enqueue_downloads(cudaStream_t s, const Build& b);
  void run_profiled(const ExecContext& ctx);
  void describe(const ExecOptions& opts);
  int batch() const { return batch_; }

  std::shared_ptr<Library> lib_, side_lib_;
  int batch_ = 1;
  Workspace workspace_, side_workspace_;
  cuda::Stream side_stream_, copy_stream_;
  cuda::Event fork_, join_, copy_fork_;
  std::vector<std::unique_ptr<cuda::Event>> uploaded_;  // one per micro-batch
  Build build_;
  std::string micro_batch_report_;
  std::unique_ptr<cuda::ReplayableWork> work_;
  cuda::Event start_, stop_;
  double last_ms_ = -1.0;
  nlohmann::json settings_ = nlohmann::json::object();
};

}  // namespace libscout::cudnn
