// The zoo's models on the native backend (every layer on it, no fallback) against the reference,
// at one and two threads; the whole-network relative L2 error bound is the CLI's, 1e-4.
#include <gtest/gtest.h>

#include "backends/native/conv_kernels.h"
#include "core/passes.h"
#include "support/backend_check.h"

namespace libscout {
namespace {

#ifdef LIBSCOUT_EMULATED
constexpr int kResolution = 64;
#else
constexpr int kResolution = 128;
#endif

TEST(NativeBackend, ZooModelsValidate) {
  for (const std::string model :
       {"squeezenet1.1", "mobilenet_v1", "mobilenet_v2", "resnet18", "squeezenet1.0"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(model + " with " + std::to_string(threads) + " thread(s)");
      const Graph g = load_model(model, {.batch = threads, .resolution = kResolution});
      testing::expect_matches_reference(g, "native", threads);
    }
  }
}

TEST(NativeBackend, SettingsNameVersionThreadsAndAlgorithms) {
  const Graph g = load_model("resnet18", {.resolution = 64});
  auto backend = create_backend("native");
  Engine engine(g, *backend, nullptr, ExecOptions{2});
  const nlohmann::json s = backend->settings();
  EXPECT_EQ(s.at("library_version"), "libscout native 1");
  EXPECT_EQ(s.at("threads"), 2);
  EXPECT_NE(s.at("conv_algorithms").get<std::string>().find("winograd_f4x4"), std::string::npos);
}

}  // namespace
}  // namespace libscout
