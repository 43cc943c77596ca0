// ONNX's own conformance cases (Debian's libonnx-testdata: node/, pytorch-converted/,
// pytorch-operator/): a case is a model.onnx with test_data_set_0/input_N.pb and output_N.pb
// (TensorProtos). Each case of an operator libscout imports is imported, run on every backend
// and compared with the expected outputs. libscout runs a model on one input: the case's first
// input is fed at run time and its other inputs are bound as constants (initializers with the
// case's values), which keeps the case's numbers.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace libscout::conformance {

// Elementwise bound, as ONNX's backend tests compare: |got - want| <= kAtol + kRtol * |want|.
inline constexpr double kRtol = 1e-3, kAtol = 1e-5;

struct Family {
  std::string suite;  // folder under the data directory
  std::string name;   // the operator, as the table shows it
  std::string regex;  // case folder names
};

// The operators libscout imports and the cases that exercise them.
const std::vector<Family>& families();

struct CaseResult {
  std::string suite, family, name;
  bool declined = false;        // valid ONNX that libscout does not import (UnsupportedModel)
  std::string reason;           // why declined, or the first failure
  std::vector<std::string> failed_backends;
  int backends_run = 0;
};

// Imports, runs and checks one case folder on `backends` (the reference first).
CaseResult run_case(const std::string& dir, const std::vector<std::string>& backends);

// The decline reason without the node's name and opset, to group cases by it.
std::string reason_key(const std::string& reason);

}  // namespace libscout::conformance
