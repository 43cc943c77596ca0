#include "onnx/npy.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "core/error.h"

namespace libscout {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes little-endian");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  std::map<std::string, std::string> dict() {
    std::map<std::string, std::string> out;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (out.count(key)) fail("key '" + key + "' appears twice");
      out[key] = value();
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != s_.size()) fail("text after the dictionary");
    return out;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": not a valid .npy header: " + why);
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n')) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("expected a string");
    const char q = s_[pos_++];
    const std::size_t end = s_.find(q, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return "'" + out + "'";
  }
  // A value as its canonical text: 'string', True, False, or (int, int, ...) without spaces.
  std::string value() {
    skip_space();
    if (peek('\'') || peek('"')) return quoted();
    if (peek('(')) {
      ++pos_;
      std::string out = "(";
      while (!peek(')')) {
        skip_space();
        const std::size_t begin = pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        if (pos_ == begin) fail("a shape holds non-negative integers only");
        out += std::string(s_.substr(begin, pos_ - begin)) + ",";
        if (!peek(')')) expect(',');
      }
      ++pos_;
      return out + ")";
    }
    for (const char* word : {"True", "False"}) {
      if (s_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return word;
      }
    }
    fail("unexpected value");
  }

  std::string_view s_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

std::vector<std::int64_t> parse_shape(const std::string& text, const HeaderParser& p) {
  std::vector<std::int64_t> shape;
  std::size_t pos = 1;  // after '('
  while (pos < text.size() && text[pos] != ')') {
    const std::size_t comma = text.find(',', pos);
    const std::string digits = text.substr(pos, comma - pos);
    if (digits.size() > 18) p.fail("dimension " + digits + " is too large");
    shape.push_back(std::stoll(digits));
    pos = comma + 1;
  }
  if (shape.size() > 32) p.fail("more than 32 dimensions");
  return shape;
}

// Whether a file of `file_bytes` can hold at most `max_bytes` of data: the header may take up to
// 4 KiB more. The allowance is taken off the file's size, not added to the limit: in size_t,
// max_bytes + 4096 wraps for a limit within 4 KiB of SIZE_MAX (4 GiB on 32-bit), and every file
// over 4 KiB was refused. A file that size_t cannot count (on 32-bit) is refused whatever the limit.
bool file_fits_limit(std::uint64_t file_bytes, std::size_t max_bytes) {
  constexpr std::uint64_t kHeaderAllowance = 4096;
  if (file_bytes > std::numeric_limits<std::size_t>::max()) return false;
  return file_bytes <= kHeaderAllowance || file_bytes - kHeaderAllowance <= max_bytes;
}

}  // namespace

NpyArray parse_npy(std::string_view bytes, const std::string& what, std::size_t max_bytes) {
  if (bytes.size() < kMagicLength + 4 || bytes.substr(0, kMagicLength) != kMagic) {
    throw Error(what + ": not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(what + ": truncated .npy header");
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + i]);
    header_at = 12;
  } else {
    throw Error(what + ": .npy format version " + std::to_string(major) +
                " is not supported (1, 2 and 3 are)");
  }
  if (header_len > bytes.size() - header_at) throw Error(what + ": truncated .npy header");
  std::string_view header = bytes.substr(header_at, header_len);
  HeaderParser parser(header, what);
  if (header.empty() || header.back() != '\n') parser.fail("it does not end with a newline");
  const std::map<std::string, std::string> dict = parser.dict();
  if (dict.size() != 3 || !dict.count("'descr'") || !dict.count("'fortran_order'") ||
      !dict.count("'shape'")) {
    parser.fail("expected exactly the keys 'descr', 'fortran_order' and 'shape'");
  }
  const std::string& descr = dict.at("'descr'");
  if (descr != "'<f4'") {
    throw Error(what + ": data type " + descr + " is not supported: libscout reads float32 "
                "('<f4'); convert with array.astype(numpy.float32)");
  }
  if (dict.at("'fortran_order'") != "False") {
    throw Error(what + ": Fortran-order arrays are not supported: save a C-order array "
                "(numpy.ascontiguousarray)");
  }
  if (dict.at("'shape'").front() != '(') parser.fail("'shape' is not a tuple");
  NpyArray a;
  a.shape = parse_shape(dict.at("'shape'"), parser);
  std::uint64_t count = 1;  // 64 bits whatever size_t is (32 bits on armhf)
  for (std::int64_t d : a.shape) {
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && count > static_cast<std::uint64_t>(max_bytes) / sizeof(float) / ud) {
      throw Error(what + ": the array (" + dict.at("'shape'") + ") is larger than the limit of " +
                  std::to_string(max_bytes) + " bytes");
    }
    count *= ud;
  }
  const std::size_t data_at = header_at + header_len;
  if (bytes.size() - data_at != count * sizeof(float)) {
    throw Error(what + ": the shape " + dict.at("'shape'") + " needs " +
                std::to_string(count * sizeof(float)) + " bytes of data, the file has " +
                std::to_string(bytes.size() - data_at));
  }
  a.data.resize(static_cast<std::size_t>(count));
  if (count > 0) std::memcpy(a.data.data(), bytes.data() + data_at, a.data.size() * sizeof(float));
  return a;
}

NpyArray read_npy(const std::string& path, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  const std::streamoff size = f.tellg();
  if (size < 0 || !file_fits_limit(static_cast<std::uint64_t>(size), max_bytes)) {
    throw Error(path + ": file of " + std::to_string(size) + " bytes is larger than the limit of " +
                std::to_string(max_bytes) + " bytes");
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  f.seekg(0);
  if (!f.read(bytes.data(), size)) throw Error("cannot read '" + path + "'");
  return parse_npy(bytes, path, max_bytes);
}

std::string npy_bytes(const std::vector<std::int64_t>& shape, std::span<const float> data) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict << shape[i] << (i + 1 < shape.size() ? ", " : "");
  dict << (shape.size() == 1 ? ",), }" : "), }");
  std::string header = dict.str();
  // Spaces and a newline pad the whole preamble to a multiple of 64 bytes.
  const std::size_t preamble = kMagicLength + 4 + header.size() + 1;
  header.append((64 - preamble % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) throw Error(".npy header too long");
  std::string out(kMagic, kMagicLength);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  return out;
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               std::span<const float> data) {
  const std::string bytes = npy_bytes(shape, data);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw Error("cannot write '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace libscout
