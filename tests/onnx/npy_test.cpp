// The .npy reader and writer: what the writer writes reads back; the reader takes the headers
// NumPy writes (versions 1.0 and 2.0, with or without a trailing comma in the dictionary) and
// refuses, with the reason, any other data type, Fortran order, a malformed header or data of
// the wrong size. read_npy's file-size bound is exact at its edges and does not wrap for a limit
// near SIZE_MAX; the default memory limit fits a 32-bit address space.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>

#include "core/error.h"
#include "onnx/npy.h"
#include "onnx/onnx_import.h"

namespace libscout {
namespace {

constexpr std::size_t kLimit = 1 << 20;

// A file of the system's temporary folder for this process alone: host and qemu runs of the
// tests share /tmp under ctest -j.
std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("libscout-npy-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string read_error(const std::string& path, std::size_t max_bytes) {
  try {
    read_npy(path, max_bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string error_of(const std::string& bytes) {
  try {
    parse_npy(bytes, "x.npy", kLimit);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A file as NumPy lays it out: magic, version, header length, the header padded with spaces to
// a multiple of 64 bytes and ended by a newline, the data.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t preamble = (major == 1 ? 10 : 12) + header.size() + 1;
  header.append((64 - preamble % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

TEST(Npy, WriteThenReadGivesTheSameArray) {
  const std::vector<float> data = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  for (const std::vector<std::int64_t>& shape : std::vector<std::vector<std::int64_t>>{{6}, {2, 3}, {1, 2, 3, 1}}) {
    const std::string bytes = npy_bytes(shape, data);
    EXPECT_EQ(bytes.find('\n'), bytes.size() - data.size() * 4 - 1);
    EXPECT_EQ((bytes.size() - data.size() * 4) % 64, 0u);
    const NpyArray a = parse_npy(bytes, "x.npy", kLimit);
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.data, data);
  }
  const std::string file = temp_file("round-trip.npy");
  write_npy(file, {3, 2}, data);
  EXPECT_EQ(read_npy(file, kLimit).data, data);
  std::filesystem::remove(file);
}

// read_npy refuses a file over the limit plus 4 KiB of header before reading it; the bound is
// computed without overflow, so a limit near SIZE_MAX (4 GiB on 32-bit) takes every file.
TEST(Npy, FileSizeBound) {
  const std::vector<float> data(2000, 0.25f);
  const std::string file = temp_file("bound.npy");
  write_npy(file, {2000}, data);
  const std::size_t size = static_cast<std::size_t>(std::filesystem::file_size(file));
  ASSERT_GT(size, data.size() * sizeof(float));  // the data and a header of 64 bytes or more
  // At the bound the file is read, and parse_npy refuses its 8000 bytes of data.
  EXPECT_NE(read_error(file, size - 4096).find("the array ((2000,)) is larger than the limit of " +
                                               std::to_string(size - 4096) + " bytes"), std::string::npos);
  EXPECT_NE(read_error(file, size - 4097).find("file of " + std::to_string(size) +
                                               " bytes is larger than the limit of " +
                                               std::to_string(size - 4097) + " bytes"), std::string::npos);
  EXPECT_EQ(read_error(file, data.size() * sizeof(float)), "");
  EXPECT_NE(read_error(file, data.size() * sizeof(float) - 1).find("the array ((2000,)) is larger"),
            std::string::npos);
  for (const std::size_t huge : {SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX - 4096, SIZE_MAX / 2 + 1}) {
    EXPECT_EQ(read_error(file, huge), "") << "limit " << huge;
  }
  EXPECT_EQ(read_npy(file, SIZE_MAX).data, data);
  std::filesystem::remove(file);
}

TEST(Npy, ReadsNumpyHeaders) {
  const NpyArray a = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }",
                                        floats({4, 5})), "a.npy", kLimit);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(a.data, (std::vector<float>{4, 5}));
  const NpyArray v2 = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
                                         floats({1, 2, 3}), 2), "b.npy", kLimit);
  EXPECT_EQ(v2.shape, (std::vector<std::int64_t>{3}));
  const NpyArray scalar = parse_npy(npy_file("{'shape': (), 'fortran_order': False, 'descr': '<f4'}",
                                             floats({9})), "c.npy", kLimit);
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, (std::vector<float>{9}));
}

TEST(Npy, RefusesWhatItDoesNotRead) {
  const std::string ok = "'fortran_order': False, 'shape': (2,)";
  EXPECT_NE(error_of("NUMPY").find("x.npy: not a .npy file"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f8', " + ok + "}", floats({1, 2, 3, 4}))).find(
                "x.npy: data type '<f8' is not supported"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '>f4', " + ok + "}", floats({1, 2}))).find("'>f4'"),
            std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", floats({1, 2})))
                .find("Fortran-order arrays are not supported"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f4', " + ok + "}", floats({1, 2, 3}))).find(
                "the shape (2,) needs 8 bytes of data, the file has 12"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f4', " + ok + ", 'extra': 1}", floats({1, 2}))).find(
                "not a valid .npy header"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "")).find(
                "a shape holds non-negative integers only"), std::string::npos);
  EXPECT_NE(error_of(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000)}", ""))
                .find("larger than the limit"), std::string::npos);
  std::string truncated = npy_file("{'descr': '<f4', " + ok + "}", floats({1, 2}));
  EXPECT_NE(error_of(truncated.substr(0, 30)).find("truncated .npy header"), std::string::npos);
  truncated[6] = 7;
  EXPECT_NE(error_of(truncated).find("format version 7 is not supported"), std::string::npos);
}

// The default limit of .npy inputs and models: in a 32-bit process within [256 MiB, 2 GiB - 1]
// whatever physical memory it reads (under qemu-user, the host's modulo 4 GiB), unless a process
// limit lowers it.
TEST(Npy, DefaultMemoryLimitFitsTheAddressSpace) {
  const std::size_t limit = default_model_memory_limit();
  EXPECT_GT(limit, 0u);
  if constexpr (sizeof(void*) < 8) {
    EXPECT_LE(limit, (std::size_t(1) << 31) - 1);
    bool process_limit = false;
    for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
      rlimit r{};
      process_limit = process_limit || (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY);
    }
    if (!process_limit) {
      EXPECT_GE(limit, std::size_t(256) << 20);
    }
  }
}

}  // namespace
}  // namespace libscout
