// Bad files: each malformed or unsupported model gives its own one-line error naming what is
// wrong (the node, its operator and the opset, or the attribute, tensor or file), never a crash.
// The models start valid (ONNX's parser) and are then broken through the protobuf classes, the
// way a damaged or hostile file would be.
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/onnx/onnx_models.h"

namespace libscout {
namespace {

using testing::import_error;
using testing::parse_model;

const char* kSmall = R"(
<ir_version: 7, opset_import: ["" : 13]>
small (float[1, 3, 8, 8] x, float[4, 3, 3, 3] w, float[4] b) => (float[1, 4, 8, 8] y) {
  c = Conv <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (x, w, b)
  y = Relu (c)
}
)";

onnx::ModelProto small() {
  onnx::ModelProto m = parse_model(kSmall);
  testing::fill_seeded(m, "w", 1);
  testing::fill_seeded(m, "b", 2);
  m.mutable_graph()->mutable_node(0)->set_name("conv1");
  return m;
}

// small() with its bias stored as external data at `location`, relative to the model's folder.
onnx::ModelProto small_with_external_bias(const std::string& location) {
  onnx::ModelProto m = small();
  onnx::TensorProto* b = testing::find_initializer(m, "b");
  b->clear_raw_data();
  b->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto* e = b->add_external_data();
  e->set_key("location");
  e->set_value(location);
  return m;
}

// A file of 4 GiB + 2 MiB of which one byte is written (sparse on disk).
void write_sparse_4gib_file(const std::filesystem::path& path) {
  std::ofstream(path, std::ios::binary).seekp((std::int64_t(4) << 30) + (2 << 20) - 1).put('\0');
}

std::string error_of(const onnx::ModelProto& m, const OnnxImportOptions& o = {}) {
  return import_error(m.SerializeAsString(), o);
}

#define EXPECT_ERROR(message, expected) \
  EXPECT_NE((message).find(expected), std::string::npos) << "error: " << (message)

TEST(OnnxMalformed, TheValidModelImports) { EXPECT_EQ(error_of(small()), ""); }

TEST(OnnxMalformed, TruncatedFile) {
  const std::string bytes = small().SerializeAsString();
  EXPECT_ERROR(import_error(bytes.substr(0, bytes.size() / 2)),
               "test.onnx: not a valid ONNX model (the protobuf message does not parse)");
  EXPECT_ERROR(import_error(""), "the model imports no opset");
}

TEST(OnnxMalformed, WrongAttributeType) {
  onnx::ModelProto m = small();
  onnx::AttributeProto* pads = m.mutable_graph()->mutable_node(0)->mutable_attribute(1);
  pads->set_type(onnx::AttributeProto_AttributeType_FLOAT);
  EXPECT_ERROR(error_of(m), "node 'conv1' (Conv, opset 13): attribute 'pads' has type FLOAT, expected INTS");
}

TEST(OnnxMalformed, UnknownAutoPad) {
  onnx::ModelProto m = small();
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("auto_pad");
  a->set_type(onnx::AttributeProto_AttributeType_STRING);
  a->set_s("SOMETIMES");
  EXPECT_ERROR(error_of(m), "node 'conv1' (Conv, opset 13): attribute 'auto_pad' is 'SOMETIMES'");
}

TEST(OnnxMalformed, NegativeDimension) {
  onnx::ModelProto m = small();
  testing::find_initializer(m, "b")->set_dims(0, -4);
  EXPECT_ERROR(error_of(m), "initializer 'b': negative dimension in [-4]");
}

TEST(OnnxMalformed, HugeDimensions) {
  onnx::ModelProto m = small();
  onnx::TensorProto* w = testing::find_initializer(m, "w");
  w->set_dims(0, std::int64_t(1) << 40);
  w->set_dims(1, std::int64_t(1) << 40);
  EXPECT_ERROR(error_of(m), "initializer 'w': [1099511627776, 1099511627776, 3, 3] has more elements "
                            "than the memory limit allows");
  onnx::ModelProto big_input = small();
  big_input.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
      ->mutable_dim(2)->set_dim_value(std::int64_t(1) << 31);
  EXPECT_ERROR(error_of(big_input), "input 'x': dimension 2147483648 is too large");
}

// Constants folded at load (Concat, Gather of initializers) count against the memory limit as
// they are made: each alone fits, together they do not.
TEST(OnnxMalformed, FoldedConstantsAddUpAgainstTheLimit) {
  std::string nodes;
  for (int k = 0; k < 8; ++k) {
    nodes += "  c" + std::to_string(k) + " = Concat <axis = 0> (a, a)\n";
    nodes += "  g" + std::to_string(k) + " = Gather <axis = 0> (a, i)\n";
  }
  onnx::ModelProto m = parse_model(R"(<ir_version: 7, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 4] y) {
)" + nodes + R"(  y = Relu (x)
})");
  onnx::TensorProto* a = m.mutable_graph()->add_initializer();
  a->set_name("a");
  a->set_data_type(onnx::TensorProto_DataType_INT64);
  a->add_dims(500);
  for (int v = 0; v < 500; ++v) a->add_int64_data(v);
  onnx::TensorProto* i = m.mutable_graph()->add_initializer();
  i->set_name("i");
  i->set_data_type(onnx::TensorProto_DataType_INT64);
  i->add_dims(500);
  for (int v = 0; v < 500; ++v) i->add_int64_data(499 - v);
  const std::size_t size = m.SerializeAsString().size();
  // a and i take 8000 bytes, each Concat 8000 and each Gather 4000: 104000 in all.
  EXPECT_EQ(error_of(m, {.memory_limit = size + 110000}), "");
  EXPECT_ERROR(error_of(m, {.memory_limit = size + 60000}), "bytes more, past the memory limit of");
}

// An int64 initializer `name` of `dims`, without values.
void add_empty_initializer(onnx::ModelProto& m, const std::string& name, const std::vector<std::int64_t>& dims) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto_DataType_INT64);
  for (std::int64_t d : dims) t->add_dims(d);
}

// An empty tensor's other dimensions are bounded as a full tensor's are: their products (taken
// by Flatten, Concat, Gather) would overflow int64. Sizes that pass that bound (with a limit
// given as SIZE_MAX) are combined without overflow: extents are added with a check and channels
// divided, and the error says what does not fit.
TEST(OnnxMalformed, HugeDimensionsOfEmptyTensors) {
  auto model = [](const std::string& node) {
    return parse_model(R"(<ir_version: 7, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 4] y) {
  z = )" + node + R"(
  y = Relu (x)
})");
  };
  const std::int64_t big = std::int64_t(1) << 40;
  onnx::ModelProto flatten = model("Flatten <axis = 2> (a)");
  add_empty_initializer(flatten, "a", {big, big, 0});
  EXPECT_ERROR(error_of(flatten), "(Flatten, opset 13): initializer 'a': [1099511627776, 1099511627776, 0] "
                                  "is empty, but its other dimensions multiply past what the memory limit allows");
  // Indices are checked whatever the other axes hold (here nothing: none used to be checked).
  onnx::ModelProto gather = model("Gather <axis = 1> (a, i)");
  add_empty_initializer(gather, "a", {0, 3});
  add_empty_initializer(gather, "i", {1});
  testing::find_initializer(gather, "i")->add_int64_data(7);
  EXPECT_ERROR(error_of(gather), "(Gather, opset 13): index 7 is out of range");
  // A 32-bit limit (at most 4 GiB) keeps the sums and products below far from int64's range.
  const bool wide = sizeof(std::size_t) == 8;
  if (wide) {
    onnx::ModelProto concat = model("Concat <axis = 0> (a, a, a, a)");
    add_empty_initializer(concat, "a", {std::int64_t(1) << 61, 0});
    EXPECT_ERROR(error_of(concat, {.memory_limit = SIZE_MAX}),
                 "(Concat, opset 13): the inputs' extents along axis 0 add up past int64");
  }
  const std::int64_t in_per_group = wide ? big : std::int64_t(1) << 20;  // times 2^24
  onnx::ModelProto conv = small();
  onnx::TensorProto* w = testing::find_initializer(conv, "w");
  w->set_dims(0, 0);
  w->set_dims(1, in_per_group);
  w->clear_raw_data();
  auto* group = conv.mutable_graph()->mutable_node(0)->add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto_AttributeType_INT);
  group->set_i(std::int64_t(1) << 24);
  EXPECT_ERROR(error_of(conv, {.memory_limit = SIZE_MAX}),
               "node 'conv1' (Conv, opset 13): weight [0, " + std::to_string(in_per_group) +
               ", 3, 3] with group 16777216 does not fit an input of 3 channels");
}

TEST(OnnxMalformed, DataThatDoesNotMatchTheDimensions) {
  onnx::ModelProto m = small();
  onnx::TensorProto* b = testing::find_initializer(m, "b");
  b->set_raw_data(b->raw_data().substr(0, 8));
  EXPECT_ERROR(error_of(m), "initializer 'b': 8 bytes of data, the dimensions need 16");
}

TEST(OnnxMalformed, Cycle) {
  onnx::ModelProto m = parse_model(R"(
<ir_version: 7, opset_import: ["" : 13]>
cyclic (float[1, 4] x) => (float[1, 4] y) {
  a = Add (x, b)
  b = Relu (a)
  y = Relu (b)
}
)");
  m.mutable_graph()->mutable_node(0)->set_name("first");
  EXPECT_ERROR(import_error(m.SerializeAsString()),
               "node 'first' (Add, opset 13): input 'b' is not defined before this node");
}

TEST(OnnxMalformed, MissingInitializer) {
  onnx::ModelProto m = small();
  m.mutable_graph()->mutable_initializer()->RemoveLast();  // b
  EXPECT_ERROR(error_of(m), "node 'conv1' (Conv, opset 13): input 'b' is not defined before this node");
}

TEST(OnnxMalformed, ShapeMismatch) {
  onnx::ModelProto m = small();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
      ->mutable_dim(1)->set_dim_value(5);
  EXPECT_ERROR(error_of(m), "node 'conv1' (Conv, opset 13): weight [4, 3, 3, 3] with group 1 does not "
                            "fit an input of 5 channels");
  onnx::ModelProto r = parse_model(R"(
<ir_version: 7, opset_import: ["" : 13]>
reshape (float[2, 6] x) => (float[5, 3] y) {
  s = Constant <value = int64[2] {5, 3}> ()
  y = Reshape (x, s)
}
)");
  EXPECT_ERROR(import_error(r.SerializeAsString()), "(Reshape, opset 13): cannot reshape [2, 6] (12 elements) to [5, 3]");
}

TEST(OnnxMalformed, UnsupportedOperatorOpsetAndDataType) {
  onnx::ModelProto m = small();
  m.mutable_graph()->mutable_node(1)->set_op_type("LRN");
  m.mutable_graph()->mutable_node(1)->set_name("norm");
  EXPECT_ERROR(error_of(m), "node 'norm' (LRN, opset 13): operator LRN is not supported");
  onnx::ModelProto o = small();
  o.mutable_opset_import(0)->set_version(18);
  EXPECT_ERROR(error_of(o), "opset 18 of the default domain: libscout imports opsets up to 17");
  onnx::ModelProto t = small();
  t.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto_DataType_INT64);
  EXPECT_ERROR(error_of(t), "input 'x' has data type int64: libscout feeds float32 inputs");
  onnx::ModelProto h = small();
  testing::find_initializer(h, "w")->set_data_type(onnx::TensorProto_DataType_FLOAT16);
  EXPECT_ERROR(error_of(h), "initializer 'w': data type float16");
}

TEST(OnnxMalformed, ClipBoundsOtherThanReluAndRelu6) {
  onnx::ModelProto m = parse_model(R"(
<ir_version: 7, opset_import: ["" : 13]>
clip (float[1, 4] x) => (float[1, 4] y) {
  lo = Constant <value = float {-1.0}> ()
  y = Clip (x, lo)
}
)");
  EXPECT_ERROR(import_error(m.SerializeAsString()), "(Clip, opset 13): Clip to [-1, inf]: only [0, 6] (ReLU6) and [0, inf) (ReLU) are imported");
}

TEST(OnnxMalformed, TwoInputs) {
  onnx::ModelProto m = parse_model(R"(
<ir_version: 7, opset_import: ["" : 13]>
two (float[1, 4] a, float[1, 4] b) => (float[1, 4] y) {
  y = Add (a, b)
}
)");
  EXPECT_ERROR(import_error(m.SerializeAsString()),
               "the graph has 2 inputs ('a', 'b'): libscout runs models with one input");
}

TEST(OnnxMalformed, ModelOverTheMemoryLimit) {
  const onnx::ModelProto m = small();
  const std::size_t size = m.SerializeAsString().size();
  EXPECT_ERROR(error_of(m, {.memory_limit = size - 1}),
               "test.onnx: the model (" + std::to_string(size) + " bytes) is larger than the memory "
               "limit of " + std::to_string(size - 1) + " bytes");
  // The file fits, its decoded weights do not: w is 64 x 3 x 3 x 3 floats (6912 bytes), b 256
  // bytes more.
  onnx::ModelProto wide = parse_model(R"(
<ir_version: 7, opset_import: ["" : 13]>
wide (float[1, 3, 8, 8] x, float[64, 3, 3, 3] w, float[64] b) => (float[1, 64, 6, 6] y) {
  y = Conv (x, w, b)
}
)");
  testing::fill_seeded(wide, "w", 1);
  testing::fill_seeded(wide, "b", 2);
  const std::size_t wide_size = wide.SerializeAsString().size();
  EXPECT_ERROR(error_of(wide, {.memory_limit = wide_size + 2000}),
               "node 'y' (Conv, opset 13): initializer 'w': [64, 3, 3, 3] has more elements than the "
               "memory limit allows");
  EXPECT_ERROR(error_of(wide, {.memory_limit = wide_size + 7000}),
               "node 'y' (Conv, opset 13): initializer 'b' needs 256 bytes more, past the memory "
               "limit of 7000 bytes");
  testing::TempDir dir;
  const std::string path = dir.file("m.onnx", m.SerializeAsString());
  try {
    import_onnx_file(path, {.memory_limit = 64});
    ADD_FAILURE() << "imported past the limit";
  } catch (const Error& e) {
    EXPECT_ERROR(std::string(e.what()), "m.onnx' (" + std::to_string(size) + " bytes) is larger than the "
                                        "memory limit of 64 bytes");
  }
  // A file over 4 GiB (sparse: one byte is written) is measured in 64 bits, on 32-bit too.
  const std::string big = (dir.path() / "big.onnx").string();
  write_sparse_4gib_file(big);
  try {
    import_onnx_file(big, {.memory_limit = 64});
    ADD_FAILURE() << "imported past the limit";
  } catch (const Error& e) {
    EXPECT_ERROR(std::string(e.what()), "big.onnx' (4098.0 MiB) is larger than the memory limit of 64 bytes");
  }
  // So is external data: its size is charged in 64 bits, not cut to size_t.
  write_sparse_4gib_file(dir.path() / "big.bin");
  EXPECT_ERROR(import_error(small_with_external_bias("big.bin").SerializeAsString(), {.memory_limit = 1 << 20}, dir.path().string()),
               "(Conv, opset 13): external data file 'big.bin' needs 4098.0 MiB more, past the memory limit");
}

TEST(OnnxMalformed, ExternalDataMustStayInTheModelsFolder) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "model");
  dir.file("secret.bin", std::string(16, 'x'));
  for (const std::string location : {"../secret.bin", "/etc/hostname", "sub/../../secret.bin", "missing.bin"}) {
    const std::string error = import_error(small_with_external_bias(location).SerializeAsString(), {},
                                           (dir.path() / "model").string());
    if (location == "/etc/hostname") {
      EXPECT_ERROR(error, "external data location '/etc/hostname' must be a path relative to the model's folder");
    } else if (location == "missing.bin") {
      EXPECT_ERROR(error, "external data file 'missing.bin' not found next to the model");
    } else {
      EXPECT_ERROR(error, "external data location '" + location + "' leaves the model's folder");
    }
  }
}

TEST(OnnxMalformed, ErrorsAreOneLine) {
  onnx::ModelProto m = small();
  m.mutable_graph()->mutable_node(1)->set_op_type("Sigmoid");
  const std::string error = error_of(m);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

}  // namespace
}  // namespace libscout
