// The command line with model files: `libscout export`, then `libscout run FILE.onnx` with --input
// and --output (.npy), `libscout gemm --shapes FILE.onnx`, and a bad file's one-line error. In a
// cross build LIBSCOUT_CLI starts the tool through qemu-user (tests/onnx/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "onnx/npy.h"
#include "support/backend_check.h"
#include "tests/onnx/onnx_models.h"

namespace libscout {
namespace {

class OnnxCli : public ::testing::Test {
 protected:
  // Runs `libscout ARGS`; returns the exit status, stdout and stderr in `output`.
  int cli(const std::string& args) {
    const std::string log = (dir_.path() / "log.txt").string();
    const int status = std::system((std::string(LIBSCOUT_CLI) + " " + args + " >'" + log + "' 2>&1").c_str());
    std::ifstream f(log);
    std::stringstream s;
    s << f.rdbuf();
    output = s.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  testing::TempDir dir_;
  std::string output;
};

TEST_F(OnnxCli, ExportThenRunTheFileGivesTheZoosOutputs) {
  ASSERT_EQ(cli("export squeezenet1.1 --resolution 64 --out " + path("sq.onnx")), 0) << output;
  EXPECT_NE(output.find("wrote " + path("sq.onnx")), std::string::npos) << output;
  const std::string common = " --resolution 64 --backend gemm:eigen --iterations 2 --warmup 0";
  ASSERT_EQ(cli("run squeezenet1.1" + common + " --output " + path("zoo.npy")), 0) << output;
  ASSERT_EQ(cli("run " + path("sq.onnx") + common + " --output " + path("file.npy") + " --json " +
                path("run.json")), 0) << output;
  EXPECT_NE(output.find("model file " + path("sq.onnx") + ", SHA-256 "), std::string::npos) << output;
  for (const char* suffix : {".npy", ".1.npy"}) {  // logits, then probabilities
    const NpyArray zoo = read_npy(path(std::string("zoo") + suffix), 1 << 24);
    const NpyArray file = read_npy(path(std::string("file") + suffix), 1 << 24);
    EXPECT_EQ(file.shape, (std::vector<std::int64_t>{1, 1000}));
    EXPECT_EQ(zoo.data, file.data) << suffix;
  }
  std::ifstream json(path("run.json"));
  std::stringstream text;
  text << json.rdbuf();
  EXPECT_NE(text.str().find("\"model_sha256\""), std::string::npos);
}

TEST_F(OnnxCli, RunsOnTheGivenInput) {
  ASSERT_EQ(cli("export mobilenet_v1 --width 0.25 --resolution 64 --out " + path("mb.onnx")), 0) << output;
  const Graph g = load_model(path("mb.onnx"));
  Tensor input(g.shape(g.input));
  fill_uniform(input, 99, "user input", 0.0f, 1.0f);
  write_npy(path("in.npy"), {1, 3, 64, 64}, input.span());
  ASSERT_EQ(cli("run " + path("mb.onnx") + " --backend gemm:eigen --iterations 1 --input " +
                path("in.npy") + " --output " + path("out.npy")), 0) << output;
  const std::vector<Tensor> want = testing::run_graph(g, "reference", input);
  const NpyArray got = read_npy(path("out.1.npy"), 1 << 24);
  ASSERT_EQ(got.data.size(), want[1].size());
  EXPECT_LE(relative_l2_error(got.data, want[1].span()), 1e-4);
  write_npy(path("wrong.npy"), {1, 3, 32, 32}, std::vector<float>(3 * 32 * 32, 0.5f));
  EXPECT_EQ(cli("run " + path("mb.onnx") + " --iterations 1 --input " + path("wrong.npy")), 1);
  EXPECT_NE(output.find("has shape (1, 3, 32, 32), the model's input 'input' is (1, 3, 64, 64)"),
            std::string::npos) << output;
}

TEST_F(OnnxCli, GemmShapesOfAFileAndABadFile) {
  // conv1 is 64 x (output pixels) x 3*3*3. Under qemu-user at 64x64 (31^2 pixels): the SGEMMs of
  // the 224x224 export take about 8 s there.
#ifdef LIBSCOUT_EMULATED
  const std::string resolution = "64", conv1 = "64x961x27";
#else
  const std::string resolution = "224", conv1 = "64x12321x27";
#endif
  ASSERT_EQ(cli("export squeezenet1.1 --resolution " + resolution + " --out " + path("sq.onnx")), 0)
      << output;
  ASSERT_EQ(cli("gemm --shapes " + path("sq.onnx") + " --providers eigen --min-time 0.001 "
                "--min-iterations 1 --warmup 0 --json " + path("gemm.json")), 0) << output;
  EXPECT_NE(output.find(conv1), std::string::npos) << output;
  // The table's last row: the GEMM time per inference, calls x median over the shapes.
  double per_inference = 0;
  const nlohmann::json gemm = nlohmann::json::parse(std::ifstream(path("gemm.json")));
  for (const auto& r : gemm.at("results"))
    per_inference += r["calls_per_inference"].get<int>() * r["time_ms"]["median"].get<double>();
  const std::string label = "\nms/inference";
  const std::size_t row = output.find(label);
  ASSERT_NE(row, std::string::npos) << output;
  const double printed = std::stod(output.substr(row + label.size()));
  EXPECT_NEAR(printed, per_inference, 0.006 + 1e-3 * per_inference) << output;
  std::string bytes;
  {
    std::ifstream f(path("sq.onnx"), std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    bytes = s.str();
  }
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  m.mutable_graph()->mutable_node(0)->set_op_type("ConvInteger");
  std::ofstream(path("bad.onnx"), std::ios::binary) << m.SerializeAsString();
  EXPECT_EQ(cli("run " + path("bad.onnx")), 1);
  EXPECT_NE(output.find("libscout: error: " + path("bad.onnx") + ": node 'conv1' (ConvInteger, opset 13): "
                        "operator ConvInteger is not supported"), std::string::npos) << output;
}

}  // namespace
}  // namespace libscout
