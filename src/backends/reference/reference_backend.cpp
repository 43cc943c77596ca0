#include "backends/reference/reference_backend.h"

#include <vector>

#include "backends/common/layer_segment.h"
#include "backends/reference/reference_ops.h"

namespace libscout {

namespace {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
  Support supports(const Graph&, const Layer&) const override { return Support::yes(); }

  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions&) override {
    auto segment = std::make_unique<LayerSegment>();
    for (LayerId id : spec.layers) {
      segment->add(id, make_kernel(spec.graph->layers[id], [](const ExecContext& ctx,
                                                              const Layer& l) {
        std::vector<const float*> in;
        for (ValueId v : l.inputs) in.push_back(ctx.data(v));
        reference::forward<double>(*ctx.graph, l, in, ctx.data(l.output));
      }));
    }
    return segment;
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace libscout
