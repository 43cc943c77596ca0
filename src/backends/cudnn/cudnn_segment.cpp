#include "backends/cudnn/cudnn_segment.h"

#include <algorithm>
#include <chrono>
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
    : plan_(spec), lib_(std::move(lib)), side_lib_(std::move(side_lib)) {
  allocate();
  build_ = build(1, opts);
  if (const int k = micro_batch_option(); k > 1) {
    Build split = build(k, opts);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.4f ms with the upload overlapped, %.4f ms in one batch",
                  split.ms, build_.ms);
    const bool better = split.ms < build_.ms;
    micro_batch_report_ = (better ? std::to_string(k) : std::string("1")) + " (" +
                          std::to_string(k) + " micro-batches of " + std::to_string(batch() / k) +
                          ": " + buf + ")";
    if (better) build_ = std::move(split);
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

void CudnnSegment::allocate() {
  const Graph& g = plan_.graph();
  try {
    arena_.resize(std::max<std::size_t>(plan_.arena_floats(), 1));
  } catch (const Error& e) {
    throw Error("cudnn: out of GPU memory: the activations of this model at batch " +
                std::to_string(batch()) + " need " + mib(plan_.arena_floats() * sizeof(float)) +
                " on the GPU (" + memory_state() + "); use a smaller batch (" + e.what() + ")");
  }
  std::size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  try {
    workspace_.buffer.resize(std::min(kWorkspaceLimit, free_b / 4));
    for (ValueId v : plan_.uploads()) {
      uploads_.push_back({v, plan_.view(v, arena_.get()),
                          cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
    for (ValueId v : plan_.downloads()) {
      downloads_.push_back({v, plan_.view(v, arena_.get()),
                            cuda::PinnedBuffer<float>(g.shape(v).elements())});
    }
  } catch (const Error& e) {
    throw Error(std::string("cudnn: out of memory at batch ") + std::to_string(batch()) + " (" +
                memory_state() + "): " + e.what());
  }
  // Seeded inputs for the measurements of prepare(); run() overwrites them.
  std::uint32_t state = 12345;
  for (Transfer& t : uploads_) {
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
  for (const Transfer& t : uploads_) bytes += t.staging.size() * sizeof(float);
  const int n = batch();
  if (bytes < kMicroBatchInputBytes) return 1;
  for (int k : {4, 2}) {
    if (n % k == 0 && n / k >= 8) return k;
  }
  return 1;
}

CudnnSegment::Build CudnnSegment::build(int micro_batches, const ExecOptions& opts) {
  Build b;
  b.micro_batches = micro_batches;
  choose_layers(b, opts);
  choose_streams(b, opts);
  return b;
}

void CudnnSegment::choose_layers(Build& b, const ExecOptions& opts) {
  // Candidates must agree with the check within this relative L2 error (TF32 rounds to 10 bits).
  const double tolerance = opts.allow_tf32 ? 5e-3 : 1e-5;
  Chooser chooser(*lib_, workspace_, opts.cuda_graph, tolerance);
  const int images = batch() / b.micro_batches;
  auto view = [&](ValueId v) {
    DeviceView d = plan_.view(v, arena_.get());
    d.n = images;
    return d;
  };
  for (const PlannedLayer& pl : plan_.layers()) {
    if (!pl.runs) continue;
    const Layer& l = *pl.layer;
    if (l.op == OpKind::kConcat &&
        std::none_of(pl.copy_input.begin(), pl.copy_input.end(), [](bool c) { return c; })) {
      continue;  // every input was written in place: nothing left to do
    }
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
        std::fprintf(stderr, "[cudnn] %s (micro-batch %d): %zu candidates built in %.0f ms\n",
                     l.name.c_str(), images, candidates.size(),
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               started)
                         .count());
      }
      Choice c = chooser.choose(std::move(candidates), ctx.inputs, ctx.output,
                                static_cast<std::uint32_t>(pl.id) * 2654435761U);
      b.workspace = std::max(b.workspace, c.workspace);
      b.ops.push_back({pl.id, std::move(c), pl.concurrent_with_next});
    } catch (const Error& e) {
      throw Error("cudnn: layer '" + l.name + "' (" + op_name(l.op) + "): " + e.what());
    }
  }
}

// The build recorded on one stream and, where the plan found independent pairs, on two; two are
// kept when they give exactly the same outputs and are faster.
void CudnnSegment::choose_streams(Build& b, const ExecOptions& opts) {
  auto outputs = [this] {
    std::vector<float> all;
    for (const Transfer& t : downloads_) {
      all.insert(all.end(), t.staging.get(), t.staging.get() + t.staging.size());
    }
    return all;
  };
  {
    cuda::ReplayableWork one([&](cudaStream_t s) { enqueue(s, b, false); }, opts.cuda_graph);
    b.ms = best_of(one, 10);
  }
  if (plan_.concurrent_pairs() == 0 || !side_lib_) {
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
  cuda::ReplayableWork two([&](cudaStream_t s) { enqueue(s, b, true); }, opts.cuda_graph);
  const double two_ms = best_of(two, 10);
  const bool same = outputs() == want;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%d pairs of independent convolutions: %.4f ms on two streams, %.4f ms on one%s",
                plan_.concurrent_pairs(), two_ms, b.ms,
                same ? "" : "; two streams gave other outputs");
  b.two_streams = same && two_ms < b.ms;
  b.streams_report = std::string(b.two_streams ? "on: " : "off: ") + buf;
  b.ms = std::min(b.ms, b.two_streams ? two_ms : b.ms);
}

// Input upload: whole on stream s, or in micro-batches on the copy stream, each signalling its
// event so that the layers start on the first part while the rest is still on its way.
void CudnnSegment::enqueue_uploads(cudaStream_t s, int micro_batches) {
  if (micro_batches == 1) {
    for (const Transfer& t : uploads_) {
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
    for (const Transfer& t : uploads_) {
      const std::size_t part = images * static_cast<std::size_t>(t.view.image_elements());
      check(cudaMemcpyAsync(t.view.base + j * part, t.staging.get() + j * part,
                            part * sizeof(float), cudaMemcpyHostToDevice, copy),
            "uploading part of the input");
    }
    uploaded_[j]->record(copy);
  }
}

void CudnnSegment::enqueue_downloads(cudaStream_t s) {
  for (const Transfer& t : downloads_) {
    const DeviceView& v = t.view;
    check(cudaMemcpy2DAsync(t.staging.get(), v.image_elements() * sizeof(float), v.base,
                            v.batch_stride * sizeof(float), v.image_elements() * sizeof(float),
                            v.n, cudaMemcpyDeviceToHost, s),
          "downloading an output");
  }
}

// One inference on stream s. With `two_streams`, the second convolution of each independent pair
// runs on the side stream (forked after everything before the pair, joined before what follows).
void CudnnSegment::enqueue(cudaStream_t s, const Build& b, bool two_streams) {
  lib_->bind(s);
  if (two_streams) side_lib_->bind(side_stream_.get());
  enqueue_uploads(s, b.micro_batches);
  const int images = batch() / b.micro_batches;
  for (int j = 0; j < b.micro_batches; ++j) {
    if (b.micro_batches > 1) wait(s, *uploaded_[j]);
    const std::int64_t first = static_cast<std::int64_t>(j) * images;
    const Exec e{lib_.get(), s, &workspace_, first};
    const Exec side{side_lib_.get(), side_stream_.get(), &side_workspace_, first};
    for (std::size_t k = 0; k < b.ops.size(); ++k) {
      if (two_streams && b.ops[k].concurrent_with_next && k + 1 < b.ops.size()) {
        fork_.record(s);
        wait(side.stream, fork_);
        b.ops[k + 1].choice.run(side);
        b.ops[k].choice.run(e);
        join_.record(side.stream);
        wait(s, join_);
        ++k;
        continue;
      }
      b.ops[k].choice.run(e);
    }
  }
  enqueue_downloads(s);
}

void CudnnSegment::run(const ExecContext& ctx) {
  for (Transfer& t : uploads_) {
    std::memcpy(t.staging.get(), ctx.data(t.value), t.staging.size() * sizeof(float));
  }
  if (ctx.profiler != nullptr) {
    run_profiled(ctx);
  } else {
    last_ms_ = work_->run_and_wait();
  }
  for (Transfer& t : downloads_) {
    std::memcpy(ctx.data(t.value), t.staging.get(), t.staging.size() * sizeof(float));
  }
}

// Layer by layer on one stream, waiting for each: the per-layer table's times (absorbed layers
// take none).
void CudnnSegment::run_profiled(const ExecContext& ctx) {
  const cudaStream_t s = work_->stream();
  lib_->bind(s);
  start_.record(s);
  enqueue_uploads(s, 1);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  const int images = batch() / build_.micro_batches;
  auto op = build_.ops.begin();
  for (const PlannedLayer& pl : plan_.layers()) {
    ctx.profiler->begin(pl.id);
    if (op != build_.ops.end() && op->id == pl.id) {
      for (int j = 0; j < build_.micro_batches; ++j) {
        op->choice.run(Exec{lib_.get(), s, &workspace_, static_cast<std::int64_t>(j) * images});
      }
      ++op;
      check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    }
    ctx.profiler->end(pl.id);
  }
  enqueue_downloads(s);
  stop_.record(s);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  last_ms_ = cuda::elapsed_ms(start_, stop_);
}

}  // namespace libscout::cudnn
