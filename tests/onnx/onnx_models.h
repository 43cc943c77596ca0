// Test models made the way ONNX's own tools make them: the textual model format of ONNX's parser
// (onnx/defs/parser.h, the C++ twin of onnx.parser.parse_model), validated with ONNX's checker,
// then given seeded weights through the protobuf classes. No fixture files: every model is
// built here and serialized as a real .onnx byte string.
#pragma once

#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/graph.h"
#include "models/graph_builder.h"
#include "onnx/onnx_import.h"

namespace libscout::testing {

inline onnx::ModelProto parse_model(const std::string& text) {
  onnx::ModelProto m;
  const auto status = onnx::OnnxParser::Parse(m, text.c_str());
  if (!status.IsOK()) throw std::runtime_error("ONNX parser: " + status.ErrorMessage());
  return m;
}

inline onnx::TensorProto* find_initializer(onnx::ModelProto& m, const std::string& name) {
  for (onnx::TensorProto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  throw std::runtime_error("no initializer " + name);
}

// The initializer `name`; a graph input of that name (the parser's way of declaring a weight
// without values) becomes one, as PyTorch's exporter stores weights: initializers that are not
// graph inputs (from IR version 4; older models list them among the inputs as well).
inline onnx::TensorProto* weight(onnx::ModelProto& m, const std::string& name) {
  for (onnx::TensorProto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  auto* inputs = m.mutable_graph()->mutable_input();
  for (int i = 0; i < inputs->size(); ++i) {
    if (inputs->Get(i).name() != name) continue;
    onnx::TensorProto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(inputs->Get(i).type().tensor_type().elem_type());
    for (const auto& d : inputs->Get(i).type().tensor_type().shape().dim()) t->add_dims(d.dim_value());
    if (m.ir_version() >= 4) inputs->DeleteSubrange(i, 1);  // before IR 4 initializers are inputs too
    return t;
  }
  throw std::runtime_error("no input or initializer " + name);
}

// Gives float weight `name` (see weight()) the seeded values in [lo, hi) (raw_data, as
// PyTorch's exporter stores weights); returns them.
inline std::vector<float> fill_seeded(onnx::ModelProto& m, const std::string& name,
                                      std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  onnx::TensorProto* t = weight(m, name);
  std::size_t count = 1;
  for (std::int64_t d : t->dims()) count *= static_cast<std::size_t>(d);
  Tensor values({1, static_cast<int>(count), 1, 1});
  fill_uniform(values, seed, name, lo, hi);
  t->clear_float_data();
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), count * sizeof(float)));
  return std::vector<float>(values.data(), values.data() + count);
}

inline std::string serialize(const onnx::ModelProto& m) { return m.SerializeAsString(); }

// Checked by ONNX's own checker first (a test model must be valid ONNX), then imported.
inline Graph import_model(const onnx::ModelProto& m, const OnnxImportOptions& o = {}) {
  onnx::checker::check_model(m);
  const std::string bytes = serialize(m);
  return import_onnx_bytes(bytes.data(), bytes.size(), o, m.graph().name());
}

// The message of the Error that importing `bytes` throws; "" when it imports.
inline std::string import_error(const std::string& bytes, const OnnxImportOptions& o = {},
                                const std::string& folder = "") {
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), o, "test.onnx", folder);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder under the system's temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("libscout-onnx-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name, const std::string& content) const {
    const std::filesystem::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

}  // namespace libscout::testing
