// A segment made of one kernel per layer, each reading and writing the engine's NCHW buffers.
// Backends that work layer by layer in the engine's layout (reference, gemm:*) build on it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/backend.h"

namespace libscout {

// One prepared layer: run() reads its inputs and writes its output in the context's buffers.
class LayerKernel {
 public:
  virtual ~LayerKernel() = default;
  virtual std::size_t workspace_bytes() const { return 0; }
  virtual void run(const ExecContext& ctx) = 0;
};

class LayerSegment final : public Segment {
 public:
  void add(LayerId id, std::unique_ptr<LayerKernel> kernel);
  std::size_t workspace_bytes() const override;
  void run(const ExecContext& ctx) override;

 private:
  std::vector<LayerId> ids_;
  std::vector<std::unique_ptr<LayerKernel>> kernels_;
};

// A kernel from a function of (context, layer); for ops with no state to prepare.
std::unique_ptr<LayerKernel> make_kernel(
    const Layer& layer, std::function<void(const ExecContext&, const Layer&)> fn);

}  // namespace libscout
