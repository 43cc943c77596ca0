#include "backends/common/layer_segment.h"

#include <algorithm>

namespace libscout {

void LayerSegment::add(LayerId id, std::unique_ptr<LayerKernel> kernel) {
  ids_.push_back(id);
  kernels_.push_back(std::move(kernel));
}

std::size_t LayerSegment::workspace_bytes() const {
  std::size_t bytes = 0;
  for (const auto& k : kernels_) bytes = std::max(bytes, k->workspace_bytes());
  return bytes;
}

void LayerSegment::run(const ExecContext& ctx) {
  if (ctx.profiler == nullptr) {
    for (auto& k : kernels_) k->run(ctx);
    return;
  }
  for (std::size_t i = 0; i < kernels_.size(); ++i) {
    ctx.profiler->begin(ids_[i]);
    kernels_[i]->run(ctx);
    ctx.profiler->end(ids_[i]);
  }
}

namespace {

class FunctionKernel final : public LayerKernel {
 public:
  FunctionKernel(const Layer& layer, std::function<void(const ExecContext&, const Layer&)> fn)
      : layer_(layer), fn_(std::move(fn)) {}
  void run(const ExecContext& ctx) override { fn_(ctx, layer_); }

 private:
  const Layer& layer_;
  std::function<void(const ExecContext&, const Layer&)> fn_;
};

}  // namespace

std::unique_ptr<LayerKernel> make_kernel(
    const Layer& layer, std::function<void(const ExecContext&, const Layer&)> fn) {
  return std::make_unique<FunctionKernel>(layer, std::move(fn));
}

}  // namespace libscout
