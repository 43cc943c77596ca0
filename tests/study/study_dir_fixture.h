// A fresh folder per test for the study's end-to-end tests, which re-run the libscout executable
// (skipped under qemu-user, which cannot start the children without binfmt_misc). The folder is
// kept when the test fails, for a look at what the study wrote.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace libscout::study::testing {

class StudyDirTest : public ::testing::Test {
 protected:
  explicit StudyDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
#ifdef LIBSCOUT_EMULATED
    GTEST_SKIP() << "the study re-executes libscout in child processes, which qemu-user cannot "
                    "do without binfmt_misc";
#endif
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);  // not created: the study makes its own folder
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace libscout::study::testing
