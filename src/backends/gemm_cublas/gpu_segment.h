// A segment of `gemm:cublas`: every value it computes lives in device memory (buffers reused once
// their last reader has run); values read from outside the segment are uploaded, values read
// outside it (SegmentSpec::exported) downloaded, both through one pinned staging buffer so that
// the copies belong to the device work and to its CUDA graph.
//
// run(): host buffers -> pinned staging (memcpy), the device work (uploads, kernels, downloads:
// one graph launch, or each call enqueued again with graphs off), pinned staging -> host buffers.
// With a profiler attached the layers are enqueued one by one and the stream synchronized after
// each, so that host times are per layer.
#pragma once

#include <memory>
#include <vector>

#include "backends/gemm_cublas/cublas_context.h"
#include "backends/gemm_cublas/layer_ops.h"
#include "core/backend.h"
#include "cuda/cuda_graph.h"

namespace libscout::gemm_cublas {

class GpuSegment final : public Segment {
 public:
  GpuSegment(const SegmentSpec& spec, const ExecOptions& opts,
             std::shared_ptr<CublasContext> blas);
  ~GpuSegment() override;
  void run(const ExecContext& ctx) override;
  double last_device_ms() const override { return last_device_ms_; }
  bool uses_graph() const { return work_ != nullptr && work_->uses_graph(); }

 private:
  struct Transfer {
    ValueId value;
    std::size_t staging_offset;  // floats into staging_
    float* device;
    std::size_t count;
  };
  struct Step {
    LayerId layer;
    std::vector<Transfer> uploads;  // inputs from outside the segment, first read here
    Enqueue op;
    std::vector<Transfer> downloads;  // the output, when read outside the segment
  };

  void plan(const SegmentSpec& spec);
  void enqueue_step(const Step& step, cudaStream_t stream) const;
  void enqueue_all(cudaStream_t stream);
  void run_profiled(const ExecContext& ctx);
  void stage_in(const Step& step, const ExecContext& ctx) const;
  void stage_out(const Step& step, const ExecContext& ctx) const;

  std::shared_ptr<CublasContext> blas_;
  bool tf32_ = false;
  OpResources res_;
  cuda::DeviceBuffer<float> col_;
  std::vector<cuda::DeviceBuffer<float>> activations_;
  cuda::PinnedBuffer<float> staging_;
  std::vector<Step> steps_;
  std::unique_ptr<cuda::ReplayableWork> work_;
  cuda::Event layer_start_, layer_stop_;
  double last_device_ms_ = -1.0;
};

}  // namespace libscout::gemm_cublas
