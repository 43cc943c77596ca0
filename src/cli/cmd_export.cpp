// `libscout export MODEL --out FILE.onnx`: writes a model (a zoo model with its seeded weights, or
// a model file after the importer's reading of it) as ONNX, opset 13, so that the same network
// can be fed to other tools (ONNX Runtime, TFLite converters, ...).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "models/zoo.h"
#include "onnx/onnx_export.h"

namespace libscout::cli {

namespace {

struct ExportOptions {
  std::string model, out, input_shape;
  ModelOptions model_options;
  bool fixed_batch = false;
};

void run_export(const ExportOptions& o) {
  ModelOptions mo = o.model_options;
  if (!o.input_shape.empty()) mo.input_shape = parse_input_shape(o.input_shape);
  const Graph g = build_model(o.model, mo);  // as built: batch norms and activations separate
  OnnxExportOptions eo;
  eo.symbolic_batch = !o.fixed_batch;
  const std::filesystem::path folder = std::filesystem::path(o.out).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);  // export says if it fails
  export_onnx_file(g, o.out, eo);
  const Shape in = g.shape(g.input);
  std::printf("wrote %s: %s, input %s%s, %zu layers, %.1fM MACs, %.2fM parameters\n", o.out.c_str(),
              g.name.c_str(), in.str().c_str(), o.fixed_batch ? "" : " (batch symbolic)",
              g.layers.size(), count_macs(g) / 1e6, count_parameters(g) / 1e6);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model as ONNX (opset 13) with its weights");
  cmd->add_option("model", o->model, "Model: a zoo name (libscout list) or an ONNX file")->required();
  cmd->add_option("--out,-o", o->out, "The ONNX file to write")->required();
  cmd->add_option("--batch", o->model_options.batch, "Batch size")->check(CLI::Range(1, 4096));
  cmd->add_option("--resolution", o->model_options.resolution, "Input height and width")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--width", o->model_options.width, "Width multiplier (MobileNets)")
      ->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--classes", o->model_options.classes, "Classes of the classifier head")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--input-shape", o->input_shape, "The input's shape, e.g. 1,3,224,224");
  cmd->add_flag("--fixed-batch", o->fixed_batch,
                "Write the batch size into the model (default: a symbolic batch dimension)");
  cmd->callback([o] { run_export(*o); });
}

}  // namespace libscout::cli
