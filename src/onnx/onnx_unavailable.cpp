// The ONNX entry points of a build without libonnx-dev: they say so.
#include "core/error.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

namespace libscout {

namespace {

[[noreturn]] void no_onnx(const std::string& what) {
  throw Unavailable(what + ": this libscout was built without ONNX support (libonnx-dev and "
                    "libprotobuf-dev were not found when it was configured)");
}

}  // namespace

bool onnx_supported() { return false; }

Graph import_onnx_file(const std::string& path, const OnnxImportOptions&) { no_onnx(path); }

Graph import_onnx_bytes(const void*, std::size_t, const OnnxImportOptions&, const std::string& name,
                        const std::string&) {
  no_onnx(name);
}

std::string export_onnx_bytes(const Graph& g, const OnnxExportOptions&) { no_onnx(g.name); }

void export_onnx_file(const Graph& g, const std::string&, const OnnxExportOptions&) {
  no_onnx(g.name);
}

}  // namespace libscout
