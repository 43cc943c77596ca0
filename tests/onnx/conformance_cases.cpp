#include <onnx/defs/tensor_proto_util.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "backends/registry.h"
#include "core/engine.h"
#include "core/passes.h"
#include "onnx/onnx_import.h"
#include "tests/onnx/conformance.h"

namespace libscout::conformance {

namespace fs = std::filesystem;

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"node", "Conv", "test_(basic_)?conv_.*"},
      {"node", "MaxPool", "test_maxpool_.*"},
      {"node", "AveragePool", "test_averagepool_.*"},
      {"node", "GlobalAveragePool", "test_globalaveragepool.*"},
      {"node", "BatchNormalization", "test_batchnorm_.*"},
      {"node", "Relu", "test_relu"},
      {"node", "Clip", "test_clip.*"},
      {"node", "Softmax", "test_softmax_.*"},
      {"node", "Gemm", "test_gemm_.*"},
      {"node", "MatMul", "test_matmul_.*"},
      {"node", "Concat", "test_concat_.*"},
      {"node", "Flatten", "test_flatten_.*"},
      {"node", "Reshape", "test_reshape_.*"},
      {"node", "Add", "test_add(_.*)?"},
      {"node", "Sub", "test_sub(_.*)?"},
      {"node", "Mul", "test_mul(_.*)?"},
      {"node", "Div", "test_div(_.*)?"},
      {"node", "Dropout", "test_dropout_.*"},
      {"node", "Identity", "test_identity(_.*)?"},
      {"node", "Pad", "test_(constant|edge|reflect)_pad"},
      {"node", "Shape", "test_shape(_.*)?"},
      {"node", "Gather", "test_gather_([0-9].*|negative_indices)"},
      {"node", "Unsqueeze", "test_unsqueeze.*"},
      {"node", "Squeeze", "test_squeeze.*"},
      {"pytorch-converted", "Conv", "test_Conv[123]d.*"},
      {"pytorch-converted", "MaxPool", "test_MaxPool[123]d.*"},
      {"pytorch-converted", "AveragePool", "test_AvgPool[123]d.*"},
      {"pytorch-converted", "BatchNormalization", "test_BatchNorm[123]d.*"},
      {"pytorch-converted", "Linear (Gemm, MatMul)", "test_Linear.*"},
      {"pytorch-converted", "ReLU", "test_ReLU"},
      {"pytorch-converted", "Softmax", "test_(Softmax|softmax_.*)"},
      {"pytorch-converted", "Pad", "test_(ZeroPad2d|ConstantPad2d)"},
      {"pytorch-operator", "operators",
       "test_operator_(add_.*|addconstant|addmm|basic|clip|concat2|conv|flatten|maxpool|mm|pad|"
       "params|view)"},
  };
  return all;
}

std::string reason_key(const std::string& reason) {
  // "case: node 'x' (Conv, opset 13): what" -> "Conv: what", without the list of operators.
  static const std::regex node(R"(.*node '[^']*' \(([A-Za-z]+), opset [0-9]+\): )");
  std::smatch m;
  std::string key = reason;
  if (std::regex_search(reason, m, node)) {
    key = m[1].str() + ": " + m.suffix().str();
  } else if (const std::size_t colon = reason.find(": "); colon != std::string::npos) {
    key = reason.substr(colon + 2);
  }
  const std::size_t list = key.find(" (libscout imports ");
  if (list != std::string::npos) key = key.substr(0, list);
  // Group by the kind of reason: without the values' names and dimensions.
  key = std::regex_replace(key, std::regex(R"(\[[-0-9a-z., ]*\])"), "[...]");
  return std::regex_replace(key, std::regex(R"((input|output) '[^']*')"), "$1");
}

namespace {

onnx::TensorProto read_tensor(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  onnx::TensorProto t;
  if (!t.ParseFromString(s.str())) throw std::runtime_error("cannot parse " + file.string());
  return t;
}

std::vector<onnx::TensorProto> read_tensors(const fs::path& set, const std::string& prefix) {
  std::vector<onnx::TensorProto> out;
  for (int i = 0; fs::exists(set / (prefix + std::to_string(i) + ".pb")); ++i) {
    out.push_back(read_tensor(set / (prefix + std::to_string(i) + ".pb")));
  }
  return out;
}

// The first difference beyond the bound, or "" when every element is within it.
std::string compare(const Tensor& got, const std::vector<float>& want) {
  if (got.size() != want.size()) {
    return std::to_string(got.size()) + " elements, expected " + std::to_string(want.size());
  }
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(want[i]));
    if (!(d <= kAtol + kRtol * std::fabs(double(want[i])))) {
      return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", expected " +
             std::to_string(want[i]);
    }
  }
  return "";
}

// Runs `g` on `backend` (with the fallback for layers it declines) and checks every output.
std::string check_backend(const Graph& g, const std::string& backend, const Tensor& input,
                          const std::vector<onnx::TensorProto>& outputs) {
  try {
    auto primary = create_backend(backend);
    auto fallback = backend == "reference" ? nullptr : create_fallback_backend();
    Engine engine(g, *primary, fallback.get(), ExecOptions{1});
    engine.set_input(input);
    engine.run();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const std::vector<int>& dims = g.values[g.outputs[i]].file_dims;
      if (!std::equal(dims.begin(), dims.end(), outputs[i].dims().begin(), outputs[i].dims().end())) {
        return "output " + std::to_string(i) + " has another shape";
      }
      const std::string diff = compare(engine.output_tensor(int(i)), onnx::ParseData<float>(&outputs[i]));
      if (!diff.empty()) return "output " + std::to_string(i) + ": " + diff;
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

CaseResult run_case(const std::string& dir, const std::vector<std::string>& backends) {
  CaseResult r;
  r.name = fs::path(dir).filename().string();
  std::ifstream f(fs::path(dir) / "model.onnx", std::ios::binary);
  std::stringstream bytes;
  bytes << f.rdbuf();
  onnx::ModelProto model;
  const fs::path set = fs::path(dir) / "test_data_set_0";
  const std::vector<onnx::TensorProto> inputs = read_tensors(set, "input_");
  const std::vector<onnx::TensorProto> outputs = read_tensors(set, "output_");
  std::vector<std::string> names;  // the graph's inputs that are not initializers
  if (!model.ParseFromString(bytes.str()) || inputs.empty() || outputs.empty()) {
    r.reason = "cannot read the case";
    return r;
  }
  for (const onnx::ValueInfoProto& vi : model.graph().input()) {
    bool init = false;
    for (const onnx::TensorProto& t : model.graph().initializer()) init = init || t.name() == vi.name();
    if (!init) names.push_back(vi.name());
  }
  for (std::size_t i = 1; i < inputs.size() && i < names.size(); ++i) {
    onnx::TensorProto* t = model.mutable_graph()->add_initializer();
    *t = inputs[i];
    t->set_name(names[i]);
  }
  OnnxImportOptions options;
  for (std::int64_t d : inputs[0].dims()) options.input_shape.push_back(static_cast<int>(d));
  Graph g;
  try {
    const std::string bound = model.SerializeAsString();
    g = import_onnx_bytes(bound.data(), bound.size(), options, r.name);
    optimize_for_inference(g);
  } catch (const UnsupportedModel& e) {
    r.declined = true;
    r.reason = e.what();
    return r;
  } catch (const std::exception& e) {
    r.reason = std::string("import failed: ") + e.what();
    r.failed_backends.push_back("(import)");
    return r;
  }
  if (inputs[0].data_type() != onnx::TensorProto_DataType_FLOAT || outputs.size() != g.outputs.size()) {
    r.reason = "the case's inputs or outputs do not match the imported graph";
    r.failed_backends.push_back("(import)");
    return r;
  }
  Tensor input(g.shape(g.input));
  const std::vector<float> x = onnx::ParseData<float>(&inputs[0]);
  if (x.size() != input.size()) {
    r.reason = "the case's input does not fill the imported graph's input";
    r.failed_backends.push_back("(import)");
    return r;
  }
  std::copy(x.begin(), x.end(), input.data());
  for (const std::string& b : backends) {
    ++r.backends_run;
    const std::string why = check_backend(g, b, input, outputs);
    if (why.empty()) continue;
    r.failed_backends.push_back(b);
    if (r.reason.empty()) r.reason = b + ": " + why;
  }
  return r;
}

}  // namespace libscout::conformance
