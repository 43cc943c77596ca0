// Runs a graph on a backend and on the reference oracle with the same seeded input and compares
// every output. Shared by the op, model and backend suites, so that a plugin backend is checked
// exactly as the built-in ones are.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/graph.h"
#include "models/zoo.h"

namespace libscout::testing {

inline constexpr double kFloatTolerance = 1e-4;  // relative L2 error, float32 against double

// Outputs of `g` on the given backend instance (no fallback: every layer must run on it unless
// allowed). Graphs run on one instance share what it decides per layer shape (the native backend
// times its algorithms once per shape and keeps the choice).
inline std::vector<Tensor> run_graph(const Graph& g, Backend& backend, const Tensor& input,
                                     int threads = 1, bool allow_fallback = false) {
  auto fallback = allow_fallback ? create_fallback_backend() : nullptr;
  Engine engine(g, backend, fallback.get(), ExecOptions{threads});
  engine.set_input(input);
  engine.run();
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < g.outputs.size(); ++i) out.push_back(engine.output_tensor(int(i)));
  return out;
}

// Outputs of `g` on a new instance of `backend_name`.
inline std::vector<Tensor> run_graph(const Graph& g, const std::string& backend_name,
                                     const Tensor& input, int threads = 1,
                                     bool allow_fallback = false) {
  auto backend = create_backend(backend_name);
  return run_graph(g, *backend, input, threads, allow_fallback);
}

// Where `got` and `want` differ most, as "index 123 (n0 c4 h5 w6): got 1.5, want 1.25".
inline std::string worst_element(const Tensor& got, const Tensor& want) {
  std::size_t worst = 0;
  double worst_diff = -1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(want[i]));
    if (!(d <= worst_diff)) {  // NaN counts as worst
      worst = i;
      worst_diff = d;
    }
  }
  const Shape& s = want.shape();
  const std::size_t w = worst % s.w, h = worst / s.w % s.h, c = worst / s.plane() % s.c,
                    n = worst / s.image_elements();
  std::ostringstream os;
  os << "index " << worst << " (n" << n << " c" << c << " h" << h << " w" << w
     << "): got " << got[worst] << ", want " << want[worst];
  return os.str();
}

// Expects every output of `g` on `backend_name` within `tolerance` of the reference.
inline void expect_matches_reference(const Graph& g, const std::string& backend_name,
                                     int threads = 1, double tolerance = kFloatTolerance,
                                     bool allow_fallback = false) {
  const Tensor input = make_input(g, 11);
  const std::vector<Tensor> want = run_graph(g, "reference", input);
  const std::vector<Tensor> got = run_graph(g, backend_name, input, threads, allow_fallback);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape());
    const double err = relative_l2_error(got[i].span(), want[i].span());
    EXPECT_LE(err, tolerance) << g.name << " on " << backend_name << ", output "
                              << g.values[g.outputs[i]].name << " of shape "
                              << want[i].shape().str() << " (input " << g.shape(g.input).str()
                              << "): relative L2 error " << err << "; worst "
                              << worst_element(got[i], want[i]);
  }
}

// Names of the backends available on this machine, the reference excluded.
inline std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const BackendInfo& b : list_backends()) {
    if (b.available && b.name != "reference") names.push_back(b.name);
  }
  return names;
}

// "gemm:openblas" -> "gemm_openblas", for test names.
inline std::string test_name(std::string s) {
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

}  // namespace libscout::testing
