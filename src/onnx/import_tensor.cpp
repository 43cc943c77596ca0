// Decoding TensorProtos (initializers, Constant nodes) into Constants: every size checked before
// anything is allocated, external data read only from the model's own folder.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "onnx/import_context.h"

namespace libscout::onnx_import {

namespace fs = std::filesystem;

void Importer::charge(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t limit = limit_;
  if (bytes > limit || charged_ > limit - bytes) {
    throw Error(what + " needs " + bytes_str(bytes) + " more, past the memory limit of " +
                bytes_str(limit_) + " for this model");
  }
  charged_ += bytes;
}

// The content of an external data file, read once. `location` must name a file inside the
// model's folder: no absolute path, no "..", no link that leads out of it.
const std::string& Importer::read_external(const std::string& location, const std::string& what) {
  if (auto it = external_files_.find(location); it != external_files_.end()) return it->second;
  if (folder_.empty()) {
    throw Error(what + ": external data '" + location + "' cannot be read: the model was not "
                "loaded from a file");
  }
  const fs::path rel(location);
  if (location.empty() || rel.is_absolute() || rel.has_root_name()) {
    throw Error(what + ": external data location '" + location + "' must be a path relative to "
                "the model's folder");
  }
  for (const fs::path& part : rel) {
    if (part == "..") throw Error(what + ": external data location '" + location + "' leaves the model's folder");
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(folder_), ec);
  const fs::path file = fs::weakly_canonical(base / rel, ec);
  const auto [mismatch, unused] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
  if (ec || mismatch != base.end()) {
    throw Error(what + ": external data location '" + location + "' leads out of the model's folder");
  }
  if (!fs::is_regular_file(file, ec)) {
    throw Error(what + ": external data file '" + location + "' not found next to the model");
  }
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) throw Error(what + ": cannot read the size of external data file '" + location + "'");
  charge(static_cast<std::uint64_t>(size), "external data file '" + location + "'");
  std::string content(static_cast<std::size_t>(size), '\0');
  std::ifstream f(file, std::ios::binary);
  if (!f.read(content.data(), static_cast<std::streamsize>(size))) {
    throw Error(what + ": cannot read external data file '" + location + "'");
  }
  external_order_.push_back(location);
  return external_files_.emplace(location, std::move(content)).first->second;
}

namespace {

// The bytes of an externally stored tensor: keys location, offset and length.
std::string_view external_bytes(const onnx::TensorProto& t, const std::string& what,
                                const std::function<const std::string&(const std::string&)>& read) {
  std::string location;
  std::uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const onnx::StringStringEntryProto& e : t.external_data()) {
    auto number = [&](const std::string& v) {
      if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
        throw Error(what + ": external data " + e.key() + " '" + v + "' is not a number");
      }
      return std::stoull(v);
    };
    if (e.key() == "location") location = e.value();
    else if (e.key() == "offset") offset = number(e.value());
    else if (e.key() == "length") length = number(e.value()), has_length = true;
  }
  if (location.empty()) throw Error(what + ": external data without a location");
  const std::string& content = read(location);
  if (offset > content.size()) {
    throw Error(what + ": external data offset " + std::to_string(offset) + " is past the end of '" +
                location + "' (" + std::to_string(content.size()) + " bytes)");
  }
  if (!has_length) length = content.size() - offset;
  if (length > content.size() - offset) {
    throw Error(what + ": external data [" + std::to_string(offset) + ", +" +
                std::to_string(length) + ") is past the end of '" + location + "'");
  }
  return std::string_view(content).substr(offset, length);
}

template <typename T, typename Field>
void from_field(std::vector<T>& out, const Field& field, std::size_t count, const std::string& what,
                const char* field_name) {
  if (static_cast<std::size_t>(field.size()) != count) {
    throw Error(what + ": " + field_name + " holds " + std::to_string(field.size()) +
                " values, the dimensions need " + std::to_string(count));
  }
  out.assign(field.begin(), field.end());
}

template <typename Stored, typename T>
void from_bytes(std::vector<T>& out, std::string_view bytes, std::size_t count,
                const std::string& what) {
  const std::uint64_t need = static_cast<std::uint64_t>(count) * sizeof(Stored);
  if (bytes.size() != need) {
    throw Error(what + ": " + std::to_string(bytes.size()) + " bytes of data, the dimensions need " +
                std::to_string(need));
  }
  out.resize(count);
  for (std::size_t k = 0; k < count; ++k) {
    Stored v;
    std::memcpy(&v, bytes.data() + k * sizeof(Stored), sizeof(Stored));
    out[k] = static_cast<T>(v);
  }
}

}  // namespace

Constant Importer::decode(const onnx::TensorProto& t, const std::string& what) {
  Constant c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  if (c.dims.size() > 8) throw UnsupportedModel(what + ": rank-" + std::to_string(c.dims.size()) + " tensor");
  const std::size_t count = checked_count(c.dims, limit_ / sizeof(float), what);
  const int type = t.data_type();
  const bool external = t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL;
  const bool raw = t.has_raw_data() || external;
  if (t.segment().begin() != t.segment().end()) throw UnsupportedModel(what + ": segmented tensor");
  std::string_view bytes;
  if (external) {
    bytes = external_bytes(t, what, [&](const std::string& loc) -> const std::string& {
      return read_external(loc, what);
    });
  } else if (raw) {
    bytes = t.raw_data();
  }
  switch (type) {
    case onnx::TensorProto_DataType_FLOAT:
      c.type = DType::kFloat;
      if (raw) from_bytes<float>(c.f, bytes, count, what);
      else from_field(c.f, t.float_data(), count, what, "float_data");
      break;
    case onnx::TensorProto_DataType_DOUBLE:  // weights stored in double are read as float
      c.type = DType::kFloat;
      if (raw) from_bytes<double>(c.f, bytes, count, what);
      else from_field(c.f, t.double_data(), count, what, "double_data");
      break;
    case onnx::TensorProto_DataType_INT64:
      c.type = DType::kInt64;
      if (raw) from_bytes<std::int64_t>(c.i, bytes, count, what);
      else from_field(c.i, t.int64_data(), count, what, "int64_data");
      break;
    case onnx::TensorProto_DataType_INT32:
      c.type = DType::kInt64;
      if (raw) from_bytes<std::int32_t>(c.i, bytes, count, what);
      else from_field(c.i, t.int32_data(), count, what, "int32_data");
      break;
    case onnx::TensorProto_DataType_BOOL:  // Dropout's training_mode
      c.type = DType::kInt64;
      if (raw) from_bytes<std::uint8_t>(c.i, bytes, count, what);
      else from_field(c.i, t.int32_data(), count, what, "int32_data");
      break;
    default:
      throw UnsupportedModel(what + ": data type " + dtype_name(type) +
                             " (libscout computes in float32; int32 and int64 are read for shapes)");
  }
  // Allocated only after the data was found to match the dimensions, so at most twice what the
  // file holds; counted against the limit all the same.
  charge(std::uint64_t{c.f.size()} * sizeof(float) + std::uint64_t{c.i.size()} * sizeof(std::int64_t),
         what);
  return c;
}

}  // namespace libscout::onnx_import
