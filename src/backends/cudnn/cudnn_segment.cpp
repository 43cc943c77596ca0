#include "backends/cudnn/cudnn_segment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "backends/cudnn/cudnn_layers.h"

namespace libscout::cudnn {

namespace {

// cuDNN's find call may use up to this much scratch memory per convolution (less when the GPU
// has less free).
constexpr std::size_t kWorkspaceLimit = std::size_t(256) << 20;
// Micro-batches are tried for inputs at least this large (a batch of 64 224x224 images: 38 MiB).
constexpr std::size_t kMicroBatchInputBytes = std::size_t(8) << 20;

std::string memory_state() {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    cudaGetLastError();
    return "GPU memory unknown";
  }
  return mib(free_b) + " free of " + mib(total_b);
}

double best_of(cuda::ReplayableWork& w, int runs) {
  double best = w.run_and_wait();
  for (int i = 1; i < runs; ++i) best = std::min(best, w.run_and_wait());
  return best;
}

void wait(cudaStream_t s, const cuda::Event& e) {
  check(cudaStreamWaitEvent(s, e.get(), 0), "cudaStreamWaitEvent");
}

}  // namespace

CudnnSegment::CudnnSegment(const SegmentSpec& spec, const ExecOptions& opts,
                           std::shared_ptr<Library> lib, std::shared_ptr<Library> side_lib)
    : lib_(std::move(lib)), side_lib_(std::move(side_lib)) {
  batch_ = spec.graph->shape(spec.graph->input).n;
  build_ = make_build(spec, 0, 1, opts);
  if (micro_batch_option() > 1) {
    try_micro_batches(spec, opts);
  } else {
    micro_batch_report_ = "1 (the input is uploaded whole)";
  }
  // The graph records the workspaces' addresses: size them for what was chosen, then capture.
  workspace_.buffer.resize(build_.workspace);
  side_workspace_.buffer.resize(build_.two_streams ? build_.side_workspace : 0);
  work_ = std::make_unique<cuda::ReplayableWork>(
      [this](cudaStream_t s) { enqueue(s, build_, build_.two_streams); }, opts.cuda_graph);
  describe(opts);
}

CudnnSegment::Build CudnnSegment::make_build(const SegmentSpec& spec, int prefix_layers,
                                             int micro_batches, const ExecOptions& opts) {
  Build b;
  b.plan = std::make_unique<SegmentPlan>(spec, prefix_layers);
  b.micro_batches = micro_batches;
  allocate(b);
  if (workspace_.bytes() == 0) {
    std::size_t free_b = 0, total_b = 0;
    check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    workspace_.buffer.resize(std::min(kWorkspaceLimit, free_b / 4));
  }
  choose_layers(b, prefix_layers, opts);
  choose_streams(b, opts);
  return b;
}

// The second build: the first layers that take about as long as the input's upload run per
// micro-batch. Kept when faster and in agreement with the first; anything that goes wrong
// (memory, a layer) leaves the first build in place, with the reason in the settings.
void CudnnSegment::try_micro_batches(const SegmentSpec& spec, const ExecOptions& opts) {
  const int k = micro_batch_option();
  try {
    double upload_ms = 0;
    {
      cuda::ReplayableWork upload([this](cudaStream_t s) { enqueue_uploads(s, build_, 1); },
                                  opts.cuda_graph);
      upload_ms = best_of(upload, 5);
    }
    std::size_t prefix = 0;
    double covered_ms = 0;
    while (prefix < build_.ops.size() && covered_ms < upload_ms) {
      covered_ms += build_.ops[prefix++].choice.device_us * 1e-3;
    }
    if (prefix == 0) {
      micro_batch_report_ = "off: nothing to overlap the upload with";
      return;
    }
    const int prefix_layers = build_.plan->index_of(build_.ops[prefix - 1].id) + 1;
    Build split = make_build(spec, prefix_layers, k, opts);
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < split.downloads.size(); ++i) {
      const Transfer& a = split.downloads[i];
      const Transfer& want = build_.downloads[i];
      for (std::size_t e = 0; e < a.staging.size(); ++e) {
        const double d = double(a.staging.get()[e]) - want.staging.get()[e];
        diff += d * d;
        norm += double(want.staging.get()[e]) * want.staging.get()[e];
      }
    }
    const double err = norm > 0 ? std::sqrt(diff / norm) : (diff > 0 ? 1.0 : 0.0);
    char buf[300];
    std::snprintf(buf, sizeof buf,
                  "%d micro-batches of %d through the first %zu layers (input upload %.4f ms): "
                  "%.4f ms, against %.4f ms in one batch; outputs differ by %.2g",
                  k, batch() / k, split.prefix_ops, upload_ms, split.ms, build_.ms, err);
    const bool better = err <= 1e-5 && split.ms < build_.ms;
    micro_batch_report_ = std::string(better ? "on: " : "off: ") + buf;
    if (better) build_ = std::move(split);
  } catch (const Error& e) {
    cudaGetLastError();
    micro_batch_report_ = std::string("off: micro-batches failed: ") + e.what();
  }
}

void CudnnSegment::allocate(Build& b) {
  const Graph& g = b.plan->graph();
  try {
    b.arena.resize(std::max<std::size_t>(b.plan->arena_floats(), 1));
  } catch (const Error& e) {
    throw Error("cudnn: out of GPU memory: the activations of this model at batch " +
                std::to_string(batch()) + " need " + mib(b.plan->arena_floats() * sizeof(float)) +
                " on the GPU (" + memory_state() + "); use a smaller batch (" + e.what() + ")");
  }
  try {
    for (ValueId v : b.plan->uploads()) {
      b.uploads.push_back({v, b.plan->view(v, b.arena.get()),
                           cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
    for (ValueId v : b.plan->downloads()) {
      b.downloads.push_back({v, b.plan->view(v, b.arena.get()),
                             cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
  } catch (const Error& e) {
    throw Error(std::string("cudnn: out of memory at batch ") + std::to_string(batch()) + " (" +
                memory_state() + "): " + e.what());
  }
  // Seeded inputs for the measurements of prepare() (the same for every build); run()
  // overwrites them.
  std::uint32_t state = 12345;
  for (Transfer& t : b.uploads) {
    for (std::size_t i = 0; i < t.staging.size(); ++i) {
      state = state * 1664525u + 1013904223u;
      t.staging.get()[i] = static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
    }
  }
}

// 1, or the number of micro-batches worth trying: a large input and a batch that splits evenly
// into micro-batches of at least 8 images.
int CudnnSegment::micro_batch_option() const {
  std::size_t bytes = 0;
  for (const Transfer& t : build_.uploads) bytes += t.staging.size() * sizeof(float);
  if (bytes < kMicroBatchInputBytes) return 1;
  for (int k : {4, 2}) {
    if (batch() % k == 0 && batch() / k >= 8) return k;
  }
  return 1;
}

void CudnnSegment::choose_layers(Build& b, int prefix_layers, const ExecOptions& opts) {
  // Candidates must agree with the check within this relative L2 error (TF32 rounds to 10 bits).
  const double tolerance = opts.allow_tf32 ? 5e-3 : 1e-5;
  Chooser chooser(*lib_, workspace_, opts.cuda_graph, tolerance);
  const SegmentPlan& plan = *b.plan;
  for (int index = 0; index < static_cast<int>(plan.layers().size()); ++index) {
    const PlannedLayer& pl = plan.layers()[index];
    if (!pl.runs) continue;
    const Layer& l = *pl.layer;
    if (l.op == OpKind::kConcat &&
        std::none_of(pl.copy_input.begin(), pl.copy_input.end(), [](bool c) { return c; })) {
      continue;  // every input was written in place: nothing left to do
    }
    const bool in_prefix = index < prefix_layers;
    const int images = in_prefix ? batch() / b.micro_batches : batch();
    auto view = [&](ValueId v) {
      DeviceView d = plan.view(v, b.arena.get());
      d.n = images;
      return d;
    };
    LayerContext ctx{pl, {}, view(pl.output), *lib_, workspace_, chooser.stream(), batch()};
    for (ValueId v : l.inputs) ctx.inputs.push_back(view(v));
    try {
      const auto started = std::chrono::steady_clock::now();
      std::vector<Candidate> candidates;
      switch (l.op) {
        case OpKind::kConv2d: candidates = conv_candidates(ctx); break;
        case OpKind::kFullyConnected: candidates = fully_connected_candidates(ctx); break;
        case OpKind::kMaxPool:
        case OpKind::kAvgPool:
        case OpKind::kGlobalAvgPool: candidates = pool_candidates(ctx); break;
        default: candidates = other_candidates(ctx); break;
      }
      if (verbose()) {
        std::fprintf(stderr, "[cudnn] %s (batch %d): %zu candidates built in %.0f ms\n",
                     l.name.c_str(), images, candidates.size(),
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               started)
                         .count());
      }
      Choice c = chooser.choose(std::move(candidates), ctx.inputs, ctx.output,
                                static_cast<std::uint32_t>(pl.id) * 2654435761U);
      b.workspace = std::max(b.workspace, c.workspace);
      b.ops.push_back({pl.id, std::move(c), pl.concurrent_with_next});
      if (in_prefix) b.prefix_ops = b.ops.size();
    } catch (const Error& e) {
      throw Error("cudnn: layer '" + l.name + "' (" + op_name(l.op) + "): " + e.what());
    }
  }
}

// The build recorded on one stream and, where the plan found independent pairs, on two; two are
// kept when they give exactly the same outputs and are faster.
void CudnnSegment::choose_streams(Build& b, const ExecOptions& opts) {
  auto outputs = [&b] {
    std::vector<float> all;
    for (const Transfer& t : b.downloads) {
      all.insert(all.end(), t.staging.get(), t.staging.get() + t.staging.size());
    }
    return all;
  };
  {
    cuda::ReplayableWork one([&](cudaStream_t s) { enqueue(s, b, false); }, opts.cuda_graph);
    b.ms = best_of(one, 10);
  }
  if (b.plan->concurrent_pairs() == 0 || !side_lib_) {
    b.streams_report = "off: no independent convolutions to overlap";
    return;
  }
  const std::vector<float> want = outputs();
  for (std::size_t k = 0; k + 1 < b.ops.size(); ++k) {
    if (b.ops[k].concurrent_with_next) {
      b.side_workspace = std::max(b.side_workspace, b.ops[k + 1].choice.workspace);
    }
  }
  side_workspace_.buffer.resize(std::max(side_workspace_.bytes(), b.side_workspace));
  double two_ms = 0;
  {
    cuda::ReplayableWork two([&](cudaStream_t s) { enqueue(s, b, true); }, opts.cuda_graph);
    two_ms = best_of(two, 10);
  }
  const bool same = outputs() == want;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%d pairs of independent convolutions: %.4f ms on two streams, %.4f ms on one%s",
                b.plan->concurrent_pairs(), two_ms, b.ms,
                same ? "" : "; two streams gave other outputs");
  b.two_streams = same && two_ms < b.ms;
  b.streams_report = std::string(b.two_streams ? "on: " : "off: ") + buf;
  if (b.two_streams) {
    b.ms = two_ms;
  } else {  // leave the one-stream outputs in the staging buffers (try_micro_batches reads them)
    cuda::ReplayableWork one([&](cudaStream_t s) { enqueue(s, b, false); }, opts.cuda_graph);
    one.run_and_wait();
  }
}

// Input upload: whole on stream s, or in micro-batches on the copy stream, each signalling its
// event so that the layers start on the first part while the rest is still on its way.
void CudnnSegment::enqueue_uploads(cudaStream_t s, const Build& b, int micro_batches) {
  if (micro_batches == 1) {
    for (const Transfer& t : b.uploads) {
      check(cudaMemcpyAsync(t.view.base, t.staging.get(), t.staging.size() * sizeof(float),
                            cudaMemcpyHostToDevice, s),
            "uploading the input");
    }
    return;
  }
  while (uploaded_.size() < static_cast<std::size_t>(micro_batches)) {
    uploaded_.push_back(std::make_unique<cuda::Event>());
  }
  const cudaStream_t copy = copy_stream_.get();
  copy_fork_.record(s);
  wait(copy, copy_fork_);
  const std::size_t images = static_cast<std::size_t>(batch() / micro_batches);
  for (int j = 0; j < micro_batches; ++j) {
    for (const Transfer& t : b.uploads) {
      const std::size_t part = images * static_cast<std::size_t>(t.view.image_elements());
      check(cudaMemcpyAsync(t.view.base + j * part, t.staging.get() + j * part,
                            part * sizeof(float), cudaMemcpyHostToDevice, copy),
            "uploading part of the input");
    }
    uploaded_[j]->record(copy);
  }
}

void CudnnSegment::enqueue_downloads(cudaStream_t s, const Build& b) {
  for (const Transfer& t : b.downloads) {
    const DeviceView& v = t.view;
    check(cudaMemcpy2DAsync(t.staging.get(), v.image_elements() * sizeof(float), v.base,
                            v.batch_stride * sizeof(float), v.image_elements() * sizeof(float),
                            v.n, cudaMemcpyDeviceToHost, s),
          "downloading an output");
  }
}

// Ops [begin, end) of a build. With `two_streams`, the second convolution of each independent
// pair runs on the side stream (forked after everything before the pair, joined before what
// follows).
void CudnnSegment::enqueue_ops(const Build& b, std::size_t begin, std::size_t end,
                               bool two_streams, const Exec& main, const Exec& side) {
  for (std::size_t k = begin; k < end; ++k) {
    if (two_streams && b.ops[k].concurrent_with_next && k + 1 < end) {
      fork_.record(main.stream);
      wait(side.stream, fork_);
      b.ops[k + 1].choice.run(side);
      b.ops[k].choice.run(main);
      join_.record(side.stream);
      wait(main.stream, join_);
      ++k;
      continue;
    }
    b.ops[k].choice.run(main);
  }
}

// One inference on stream s: the prefix once per micro-batch as its part of the input arrives,
// then the rest on the whole batch.
void CudnnSegment::enqueue(cudaStream_t s, const Build& b, bool two_streams) {
  lib_->bind(s);
  if (two_streams) side_lib_->bind(side_stream_.get());
  enqueue_uploads(s, b, b.micro_batches);
  const int images = batch() / b.micro_batches;
  for (int j = 0; j < b.micro_batches && b.micro_batches > 1; ++j) {
    wait(s, *uploaded_[j]);
    const std::int64_t first = static_cast<std::int64_t>(j) * images;
    enqueue_ops(b, 0, b.prefix_ops, two_streams, Exec{lib_.get(), s, &workspace_, first},
                Exec{side_lib_.get(), side_stream_.get(), &side_workspace_, first});
  }
  const std::size_t rest = b.micro_batches > 1 ? b.prefix_ops : 0;
  enqueue_ops(b, rest, b.ops.size(), two_streams, Exec{lib_.get(), s, &workspace_, 0},
              Exec{side_lib_.get(), side_stream_.get(), &side_workspace_, 0});
  enqueue_downloads(s, b);
}

void CudnnSegment::run(const ExecContext& ctx) {
  for (Transfer& t : build_.uploads) {
    std::memcpy(t.staging.get(), ctx.data(t.value), t.staging.size() * sizeof(float));
  }
  if (ctx.profiler != nullptr) {
    run_profiled(ctx);
  } else {
    last_ms_ = work_->run_and_wait();
  }
  for (Transfer& t : build_.downloads) {
    std::memcpy(ctx.data(t.value), t.staging.get(), t.staging.size() * sizeof(float));
  }
}

// Layer by layer on one stream, waiting for each: the per-layer table's times (absorbed layers
// take none).
void CudnnSegment::run_profiled(const ExecContext& ctx) {
  const cudaStream_t s = work_->stream();
  lib_->bind(s);
  start_.record(s);
  enqueue_uploads(s, build_, 1);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  const int images = batch() / build_.micro_batches;
  for (const PlannedLayer& pl : build_.plan->layers()) {
    ctx.profiler->begin(pl.id);
    for (std::size_t k = 0; k < build_.ops.size(); ++k) {
      if (build_.ops[k].id != pl.id) continue;
      const int parts = k < build_.prefix_ops ? build_.micro_batches : 1;
      for (int j = 0; j < parts; ++j) {
        const std::int64_t first = static_cast<std::int64_t>(j) * images;
        build_.ops[k].choice.run(Exec{lib_.get(), s, &workspace_, first});
      }
      check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    }
    ctx.profiler->end(pl.id);
  }
  enqueue_downloads(s, build_);
  stop_.record(s);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  last_ms_ = cuda::elapsed_ms(start_, stop_);
}

}  // namespace libscout::cudnn
