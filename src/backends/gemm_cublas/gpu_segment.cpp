#include "backends/gemm_cublas/gpu_segment.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace libscout::gemm_cublas {

GpuSegment::GpuSegment(const SegmentSpec& spec, const ExecOptions& opts,
                       std::shared_ptr<CublasContext> blas)
    : blas_(std::move(blas)), tf32_(opts.allow_tf32) {
  res_.blas = blas_.get();
  plan(spec);
  // One eager pass first: kernels are loaded and cuBLAS makes its first-call choices outside the
  // capture (the values are whatever the buffers hold; nothing is read back).
  {
    cuda::Stream warm_up;
    enqueue_all(warm_up.get());
    warm_up.synchronize();
    blas_->unbind();
  }
  work_ = std::make_unique<cuda::ReplayableWork>([this](cudaStream_t s) { enqueue_all(s); },
                                                 opts.cuda_graph);
}

GpuSegment::~GpuSegment() {
  // The handle outlives this segment's stream (other segments share it).
  blas_->unbind();
}

// Device buffers in layer order: a value gets a buffer when it is produced (or, read from outside
// the segment, first read), the smallest free one that fits, and gives it back after its last
// reader in the segment. The work runs in stream order, so a buffer handed on is never overwritten
// while an earlier layer still reads it.
void GpuSegment::plan(const SegmentSpec& spec) {
  const Graph& g = *spec.graph;
  const std::size_t nv = g.values.size();
  const int count = static_cast<int>(spec.layers.size());
  std::vector<int> produced_at(nv, -1), last_read(nv, -1);
  std::size_t col = 0;
  for (int i = 0; i < count; ++i) {
    const Layer& l = g.layers[spec.layers[i]];
    produced_at[l.output] = i;
    for (ValueId v : l.inputs) last_read[v] = i;
    col = std::max(col, col_floats(g, l));
  }
  if (col > 0) col_ = allocate_device<float>(col, "the im2col buffer");
  res_.col = col_.get();

  std::vector<int> buffer_of(nv, -1);
  std::vector<bool> busy;
  auto acquire = [&](ValueId v) {
    const std::size_t floats = g.shape(v).elements();
    int best = -1;
    for (int b = 0; b < static_cast<int>(activations_.size()); ++b) {
      if (!busy[b] && activations_[b].size() >= floats &&
          (best < 0 || activations_[b].size() < activations_[best].size())) {
        best = b;
      }
    }
    if (best < 0) {
      activations_.push_back(
          allocate_device<float>(floats, "value '" + g.values[v].name + "' (" +
                                             g.shape(v).str() + ")"));
      busy.push_back(false);
      best = static_cast<int>(activations_.size()) - 1;
    }
    busy[best] = true;
    buffer_of[v] = best;
    return activations_[best].get();
  };
  auto release = [&](ValueId v) { busy[buffer_of[v]] = false; };

  std::size_t staging = 0;
  for (int i = 0; i < count; ++i) {
    const Layer& l = g.layers[spec.layers[i]];
    Step step{spec.layers[i], {}, {}, {}};
    std::vector<const float*> inputs;
    for (ValueId v : l.inputs) {
      if (produced_at[v] < 0 && buffer_of[v] < 0) {
        float* d = acquire(v);
        step.uploads.push_back({v, staging, d, g.shape(v).elements()});
        staging += g.shape(v).elements();
      }
      inputs.push_back(activations_[buffer_of[v]].get());
    }
    float* out = acquire(l.output);
    step.op = make_layer_op(g, l, std::move(inputs), out, res_);
    if (spec.exported[l.output]) {
      step.downloads.push_back({l.output, staging, out, g.shape(l.output).elements()});
      staging += g.shape(l.output).elements();
    }
    for (ValueId v : l.inputs) {
      if (last_read[v] == i) release(v);
    }
    if (last_read[l.output] <= i) release(l.output);  // read by no later layer of the segment
    steps_.push_back(std::move(step));
  }
  staging_ = cuda::PinnedBuffer<float>(staging);
}

void GpuSegment::enqueue_step(const Step& step, cudaStream_t stream) const {
  for (const Transfer& t : step.uploads) {
    cuda::check(cudaMemcpyAsync(t.device, staging_.get() + t.staging_offset,
                                t.count * sizeof(float), cudaMemcpyHostToDevice, stream),
                "gemm:cublas: upload");
  }
  step.op(stream);
  for (const Transfer& t : step.downloads) {
    cuda::check(cudaMemcpyAsync(staging_.get() + t.staging_offset, t.device,
                                t.count * sizeof(float), cudaMemcpyDeviceToHost, stream),
                "gemm:cublas: download");
  }
}

void GpuSegment::enqueue_all(cudaStream_t stream) {
  blas_->bind(stream, tf32_);
  for (const Step& step : steps_) enqueue_step(step, stream);
}

void GpuSegment::stage_in(const Step& step, const ExecContext& ctx) const {
  for (const Transfer& t : step.uploads) {
    std::memcpy(staging_.get() + t.staging_offset, ctx.data(t.value), t.count * sizeof(float));
  }
}

void GpuSegment::stage_out(const Step& step, const ExecContext& ctx) const {
  for (const Transfer& t : step.downloads) {
    std::memcpy(ctx.data(t.value), staging_.get() + t.staging_offset, t.count * sizeof(float));
  }
}

void GpuSegment::run(const ExecContext& ctx) {
  if (ctx.profiler != nullptr) return run_profiled(ctx);
  for (const Step& step : steps_) stage_in(step, ctx);
  last_device_ms_ = work_->run_and_wait();
  for (const Step& step : steps_) stage_out(step, ctx);
}

// Layer by layer, eagerly, the stream synchronized after each: the profiler's host times are the
// layers' own; the device time is the sum of the layers' event times.
void GpuSegment::run_profiled(const ExecContext& ctx) {
  const cudaStream_t stream = work_->stream();
  blas_->bind(stream, tf32_);
  double total = 0.0;
  for (const Step& step : steps_) {
    ctx.profiler->begin(step.layer);
    stage_in(step, ctx);
    layer_start_.record(stream);
    enqueue_step(step, stream);
    layer_stop_.record(stream);
    cuda::check(cudaStreamSynchronize(stream), "gemm:cublas: cudaStreamSynchronize");
    total += cuda::elapsed_ms(layer_start_, layer_stop_);
    stage_out(step, ctx);
    ctx.profiler->end(step.layer);
  }
  last_device_ms_ = total;
}

}  // namespace libscout::gemm_cublas
