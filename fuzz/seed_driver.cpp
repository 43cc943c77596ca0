// The seed corpus as an ordinary test: every file under the given folders goes once through the
// fuzz target's entry point (a crash fails the test). Folders after --must-import hold models
// that must import (the zoo's exports); a missing folder is skipped with a note.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entry.h"

namespace fs = std::filesystem;
using libscout::fuzz::ImportOutcome;

int main(int argc, char** argv) {
  int files = 0, imported = 0, ran = 0, failures = 0;
  bool must_import = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--must-import") {
      must_import = true;
      continue;
    }
    if (!fs::is_directory(arg)) {
      std::printf("note: %s is not a folder: skipped\n", arg.c_str());
      continue;
    }
    for (const auto& e : fs::recursive_directory_iterator(arg)) {
      if (!e.is_regular_file()) continue;
      std::ifstream f(e.path(), std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const ImportOutcome r = libscout::fuzz::import_one(
          reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++files;
      imported += r != ImportOutcome::kRefused;
      ran += r == ImportOutcome::kRan;
      if (must_import && r == ImportOutcome::kRefused) {
        std::printf("FAILED: %s does not import\n", e.path().c_str());
        ++failures;
      }
    }
  }
  std::printf("%d seed files: %d imported, %d of them run on the reference\n", files, imported, ran);
  if (files == 0) {
    std::printf("FAILED: no seed file found\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
