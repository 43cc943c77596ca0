// Test plugin: backend `test-scripted`, gemm:eigen with behaviour set by environment variables,
// so the study's tests can change a backend's speed between rounds, make it decline layers, or
// make its output go wrong, through the real executable:
//   LIBSCOUT_TEST_DELAYS=100,400     extra milliseconds slept per inference, one value per
//   LIBSCOUT_TEST_COUNTER=FILE       process in turn (the k-th process that creates the backend
//                                    sleeps the k-th value, cycling); FILE counts the processes
//   LIBSCOUT_TEST_DECLINE=maxpool    op names it declines (comma-separated): the fallback runs them
//   LIBSCOUT_TEST_ZERO_AFTER=N       after N inferences its outputs are zeros (0: from the first)
// Built only for the tests (build/tests/plugins/), never installed.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backends/registry.h"
#include "core/plugins.h"

namespace {

using namespace libscout;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// This process's delay: the next value of LIBSCOUT_TEST_DELAYS, counted in LIBSCOUT_TEST_COUNTER.
double next_delay_ms() {
  const std::vector<std::string> delays = split(env("LIBSCOUT_TEST_DELAYS"));
  if (delays.empty()) return 0;
  const std::string counter = env("LIBSCOUT_TEST_COUNTER");
  long n = 0;
  if (!counter.empty()) {
    std::ifstream(counter) >> n;
    std::ofstream(counter, std::ios::trunc) << n + 1;
  }
  return std::stod(delays[static_cast<std::size_t>(n) % delays.size()]);
}

class ScriptedSegment final : public Segment {
 public:
  ScriptedSegment(std::unique_ptr<Segment> inner, const SegmentSpec& spec, double delay_ms,
                  long zero_after)
      : inner_(std::move(inner)), delay_ms_(delay_ms), zero_after_(zero_after) {
    first_ = !spec.layers.empty() && spec.layers.front() == 0;
    for (LayerId l : spec.layers) {
      const ValueId out = spec.graph->layers[l].output;
      for (ValueId g : spec.graph->outputs) {
        if (g == out) outputs_.push_back(out);
      }
    }
  }
  std::size_t workspace_bytes() const override { return inner_->workspace_bytes(); }
  void run(const ExecContext& ctx) override {
    if (first_ && delay_ms_ > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
    }
    inner_->run(ctx);
    if (zero_after_ >= 0 && runs_++ >= zero_after_) {
      for (ValueId v : outputs_) {
        float* p = ctx.data(v);
        for (std::size_t i = 0; i < ctx.shape(v).elements(); ++i) p[i] = 0.0f;
      }
    }
  }

 private:
  std::unique_ptr<Segment> inner_;
  double delay_ms_;
  long zero_after_;
  long runs_ = 0;
  bool first_ = false;
  std::vector<ValueId> outputs_;
};

class ScriptedBackend final : public Backend {
 public:
  ScriptedBackend() : inner_(create_backend("gemm:eigen")), delay_ms_(next_delay_ms()) {
    declined_ = split(env("LIBSCOUT_TEST_DECLINE"));
    const std::string zero = env("LIBSCOUT_TEST_ZERO_AFTER");
    zero_after_ = zero.empty() ? -1 : std::stol(zero);
  }
  std::string name() const override { return "test-scripted"; }
  Support supports(const Graph& g, const Layer& layer) const override {
    for (const std::string& op : declined_) {
      if (op == op_name(layer.op)) return Support::no("test-scripted declines " + op);
    }
    return inner_->supports(g, layer);
  }
  std::unique_ptr<Segment> prepare(const SegmentSpec& spec, const ExecOptions& opts) override {
    return std::make_unique<ScriptedSegment>(inner_->prepare(spec, opts), spec, delay_ms_,
                                             zero_after_);
  }

 private:
  std::unique_ptr<Backend> inner_;
  double delay_ms_;
  std::vector<std::string> declined_;
  long zero_after_ = -1;
};

}  // namespace

LIBSCOUT_PLUGIN_PROVIDES("backend", "test-scripted");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_backend({"test-scripted", "test backend: gemm:eigen with scripted delays and faults",
                        nullptr, [] { return std::make_unique<ScriptedBackend>(); }});
}
