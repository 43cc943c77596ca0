// CPU topology from recorded /sys and /proc trees of the study's boards (tests/data/sysfs/<board>/
// {sys,proc}), the choice of cores for a run, the JSON device block, and pinning on this machine.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "core/error.h"
#include "platform/topology.h"

namespace libscout::platform {
namespace {

namespace fs = std::filesystem;

const fs::path kBoards = fs::path(LIBSCOUT_TEST_DATA_DIR) / "sysfs";

// Points the roots at a recorded tree for the test's lifetime.
class BoardRoots {
 public:
  explicit BoardRoots(const fs::path& board) {
    setenv("LIBSCOUT_SYSFS_ROOT", (board / "sys").c_str(), 1);
    setenv("LIBSCOUT_PROCFS_ROOT", (board / "proc").c_str(), 1);
  }
  ~BoardRoots() {
    unsetenv("LIBSCOUT_SYSFS_ROOT");
    unsetenv("LIBSCOUT_PROCFS_ROOT");
  }
};

Topology board(const std::string& name) {
  BoardRoots roots(kBoards / name);
  return detect_topology();
}

// A writable copy of a recorded board, for variants (cores taken offline, files missing).
class BoardCopy {
 public:
  explicit BoardCopy(const std::string& name) {
    dir_ = fs::temp_directory_path() /
           ("libscout-topology-" + name + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(kBoards / name, dir_, fs::copy_options::recursive);
  }
  ~BoardCopy() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }
  void write(const fs::path& relative, const std::string& text) const {
    std::ofstream(dir_ / relative) << text;
  }
  Topology detect() const {
    BoardRoots roots(dir_);
    return detect_topology();
  }

 private:
  fs::path dir_;
};

std::vector<int> cpus(std::initializer_list<int> list) { return list; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Topology, RaspberryPi3IsOneClusterOfCortexA53) {
  const Topology t = board("rpi3");
  EXPECT_EQ(t.architecture, "armv7l");  // Raspbian's 32-bit kernel on the ARMv8 cores
  EXPECT_EQ(t.board, "Raspberry Pi 3 Model B Rev 1.2");
  EXPECT_EQ(t.online, cpus({0, 1, 2, 3}));
  ASSERT_EQ(t.clusters.size(), 1u);
  EXPECT_EQ(t.clusters[0].name, "all");
  EXPECT_EQ(t.clusters[0].core_name, "Cortex-A53");
  EXPECT_EQ(t.clusters[0].cpus, cpus({0, 1, 2, 3}));
  EXPECT_EQ(t.clusters[0].max_freq_khz, 1200000);
  EXPECT_FALSE(t.clusters[0].capacity.has_value());
  EXPECT_EQ(t.ordered_by, "");
  ASSERT_EQ(t.cores.size(), 4u);
  EXPECT_EQ(t.cores[2].part, 0xd03);
  EXPECT_EQ(t.cores[2].implementer, 0x41);
}

TEST(Topology, OdroidXu3IsBigLittleByCapacity) {
  const Topology t = board("odroid-xu3");
  EXPECT_EQ(t.architecture, "armv7l");
  EXPECT_EQ(t.board, "Hardkernel Odroid XU3");
  ASSERT_EQ(t.clusters.size(), 2u);
  EXPECT_EQ(t.clusters[0].name, "little");
  EXPECT_EQ(t.clusters[0].core_name, "Cortex-A7");
  EXPECT_EQ(t.clusters[0].cpus, cpus({0, 1, 2, 3}));
  EXPECT_EQ(t.clusters[0].max_freq_khz, 1400000);
  EXPECT_EQ(t.clusters[0].capacity, 377);
  EXPECT_EQ(t.clusters[1].name, "big");
  EXPECT_EQ(t.clusters[1].core_name, "Cortex-A15");
  EXPECT_EQ(t.clusters[1].cpus, cpus({4, 5, 6, 7}));
  EXPECT_EQ(t.clusters[1].capacity, 1024);
  EXPECT_EQ(t.ordered_by, "cpu_capacity");
  EXPECT_EQ(t.cores[4].package_id, 0);  // the A15 cluster is cluster 0 in MPIDR
  EXPECT_EQ(t.cores[0].package_id, 1);
}

TEST(Topology, OdroidXu3WithoutCapacityIsOrderedByFrequency) {
  BoardCopy copy("odroid-xu3");
  for (int cpu = 0; cpu < 8; ++cpu)
    fs::remove(copy.dir() / "sys/devices/system/cpu" / ("cpu" + std::to_string(cpu)) /
               "cpu_capacity");
  const Topology t = copy.detect();
  ASSERT_EQ(t.clusters.size(), 2u);
  EXPECT_EQ(t.ordered_by, "cpuinfo_max_freq");
  EXPECT_EQ(t.clusters[1].core_name, "Cortex-A15");
  EXPECT_EQ(t.clusters[1].max_freq_khz, 2000000);
  EXPECT_FALSE(t.clusters[1].capacity.has_value());
}

TEST(Topology, JetsonTx2SplitsDenverFromCortexA57ByCoreType) {
  const Topology t = board("jetson-tx2");
  EXPECT_EQ(t.architecture, "aarch64");
  EXPECT_EQ(t.board, "NVIDIA Jetson TX2 Developer Kit");
  EXPECT_EQ(t.online, cpus({0, 1, 2, 3, 4, 5}));
  ASSERT_EQ(t.clusters.size(), 2u);
  // Same maximum frequency, no cpu_capacity: the core types decide.
  EXPECT_EQ(t.ordered_by, "core type");
  EXPECT_EQ(t.clusters[0].name, "little");
  EXPECT_EQ(t.clusters[0].core_name, "Cortex-A57");
  EXPECT_EQ(t.clusters[0].cpus, cpus({0, 3, 4, 5}));
  EXPECT_EQ(t.clusters[1].name, "big");
  EXPECT_EQ(t.clusters[1].core_name, "Denver2");
  EXPECT_EQ(t.clusters[1].cpus, cpus({1, 2}));
  EXPECT_EQ(t.clusters[1].max_freq_khz, 2035200);
  EXPECT_EQ(t.cores[1].implementer, 0x4e);
  EXPECT_EQ(t.cores[1].part, 0x003);
}

TEST(Topology, OfflineCoresAreLeftOut) {
  // nvpmodel's "MAX-P ARM" mode on the TX2 takes the Denver cores offline.
  BoardCopy copy("jetson-tx2");
  copy.write("sys/devices/system/cpu/online", "0,3-5\n");
  const Topology t = copy.detect();
  EXPECT_EQ(t.possible, cpus({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(t.online, cpus({0, 3, 4, 5}));
  ASSERT_EQ(t.clusters.size(), 1u);
  EXPECT_EQ(t.clusters[0].core_name, "Cortex-A57");
  EXPECT_EQ(select_cpus(t, "big", ""), cpus({0, 3, 4, 5}));
  EXPECT_NE(error_of([&] { select_cpus(t, "denver2", ""); }).find("unknown cluster"),
            std::string::npos);
  EXPECT_NE(error_of([&] { select_cpus(t, "", "1"); }).find("CPU 1 of --cpus 1 is not online"),
            std::string::npos);
}

TEST(Topology, OldKernelCpuinfoWithOnePartForAllProcessors) {
  // 32-bit kernels before 3.8 printed the CPU fields once, after all the processor lines.
  BoardCopy copy("rpi3");
  copy.write("proc/cpuinfo",
             "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\n"
             "processor\t: 1\nBogoMIPS\t: 38.40\n\nprocessor\t: 2\nBogoMIPS\t: 38.40\n\n"
             "processor\t: 3\nBogoMIPS\t: 38.40\n\nFeatures\t: half thumb fastmult vfp edsp neon\n"
             "CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\n"
             "CPU part\t: 0xd03\nCPU revision\t: 4\n\nHardware\t: BCM2709\n");
  const Topology t = copy.detect();
  ASSERT_EQ(t.clusters.size(), 1u);
  EXPECT_EQ(t.clusters[0].core_name, "Cortex-A53");
  EXPECT_EQ(t.clusters[0].cpus, cpus({0, 1, 2, 3}));
}

TEST(Topology, UnknownPartIsNamedByNumber) {
  BoardCopy copy("rpi3");
  copy.write("proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n\n"
                             "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n\n"
                             "processor\t: 2\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n\n"
                             "processor\t: 3\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n");
  const Topology t = copy.detect();
  ASSERT_EQ(t.clusters.size(), 1u);
  EXPECT_EQ(t.clusters[0].core_name, "implementer 0x41 part 0xfff");
}

TEST(Topology, MalformedOnlineListIsAnErrorNamingTheFile) {
  BoardCopy copy("rpi3");
  copy.write("sys/devices/system/cpu/online", "0-x\n");
  const std::string message = error_of([&] { copy.detect(); });
  EXPECT_NE(message.find("devices/system/cpu/online"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid CPU list"), std::string::npos) << message;
}

TEST(Topology, EmptyTreeGivesNoCpusAndSelectionSaysSo) {
  BoardCopy copy("rpi3");
  fs::remove_all(copy.dir() / "sys");
  fs::remove_all(copy.dir() / "proc");
  const Topology t = copy.detect();
  EXPECT_TRUE(t.online.empty());
  EXPECT_TRUE(t.clusters.empty());
  EXPECT_EQ(t.board, "");
  EXPECT_NE(error_of([&] { select_cpus(t, "", ""); }).find("no online CPU"), std::string::npos);
}

TEST(SelectCpus, BigLittleAllOnBigLittle) {
  const Topology t = board("odroid-xu3");
  EXPECT_EQ(select_cpus(t, "", ""), cpus({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(select_cpus(t, "all", ""), cpus({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(select_cpus(t, "big", ""), cpus({4, 5, 6, 7}));
  EXPECT_EQ(select_cpus(t, "little", ""), cpus({0, 1, 2, 3}));
  EXPECT_EQ(select_cpus(t, "a15", ""), cpus({4, 5, 6, 7}));
  EXPECT_EQ(select_cpus(t, "Cortex-A7", ""), cpus({0, 1, 2, 3}));
  EXPECT_EQ(select_cpus(t, "", "4-5"), cpus({4, 5}));
  EXPECT_EQ(select_cpus(t, "big", "3-5"), cpus({4, 5}));  // both: the intersection
}

TEST(SelectCpus, BigOnAHomogeneousSystemIsEveryCore) {
  const Topology t = board("rpi3");
  EXPECT_EQ(select_cpus(t, "big", ""), cpus({0, 1, 2, 3}));
  EXPECT_EQ(select_cpus(t, "little", ""), cpus({0, 1, 2, 3}));
  EXPECT_EQ(select_cpus(t, "a53", "1,2"), cpus({1, 2}));
}

TEST(SelectCpus, JetsonTx2WithoutDenver) {
  // The study's setting: the four Cortex-A57 cores, leaving Denver2 out; three ways to say it.
  const Topology t = board("jetson-tx2");
  EXPECT_EQ(select_cpus(t, "a57", ""), cpus({0, 3, 4, 5}));
  EXPECT_EQ(select_cpus(t, "little", ""), cpus({0, 3, 4, 5}));
  EXPECT_EQ(select_cpus(t, "", "0,3-5"), cpus({0, 3, 4, 5}));
  EXPECT_EQ(select_cpus(t, "denver2", ""), cpus({1, 2}));
  EXPECT_EQ(select_cpus(t, "big", ""), cpus({1, 2}));
}

TEST(SelectCpus, ClearErrors) {
  const Topology t = board("jetson-tx2");
  std::string message = error_of([&] { select_cpus(t, "medium", ""); });
  EXPECT_NE(message.find("unknown cluster 'medium'"), std::string::npos) << message;
  EXPECT_NE(message.find("Denver2"), std::string::npos) << message;  // lists the choices
  message = error_of([&] { select_cpus(t, "", "0,7"); });
  EXPECT_NE(message.find("CPU 7 of --cpus 0,7 is not online (online: 0-5)"), std::string::npos)
      << message;
  message = error_of([&] { select_cpus(t, "", "3-1"); });
  EXPECT_NE(message.find("invalid CPU list"), std::string::npos) << message;
  message = error_of([&] { select_cpus(t, "", "zero"); });
  EXPECT_NE(message.find("invalid CPU list"), std::string::npos) << message;
  message = error_of([&] { select_cpus(t, "denver2", "0,3"); });
  EXPECT_NE(message.find("no CPU of --cpus 0,3 is in cluster 'denver2'"), std::string::npos)
      << message;
}

TEST(TopologyJson, DeviceBlockRecordsClustersAndCoresUsed) {
  const Topology t = board("odroid-xu3");
  const nlohmann::json j = topology_json(t, {7, 4, 5, 6});
  EXPECT_EQ(j["architecture"], "armv7l");
  EXPECT_EQ(j["board"], "Hardkernel Odroid XU3");
  EXPECT_TRUE(j["soc"].is_null());
  EXPECT_EQ(j["cpus_online"], "0-7");
  ASSERT_EQ(j["clusters"].size(), 2u);
  EXPECT_EQ(j["clusters"][1]["name"], "big");
  EXPECT_EQ(j["clusters"][1]["core_name"], "Cortex-A15");
  EXPECT_EQ(j["clusters"][1]["cpus"], nlohmann::json({4, 5, 6, 7}));
  EXPECT_EQ(j["clusters"][1]["max_freq_khz"], 2000000);
  EXPECT_EQ(j["clusters"][1]["capacity"], 1024);
  EXPECT_EQ(j["clusters_ordered_by"], "cpu_capacity");
  EXPECT_EQ(j["cores_used"], nlohmann::json({4, 5, 6, 7}));
  EXPECT_EQ(j["cluster_used"], "big");
  EXPECT_EQ(topology_json(t, {3, 4})["cluster_used"], "little+big");
  EXPECT_EQ(topology_json(t, select_cpus(t, "all", ""))["cluster_used"], "all");
  EXPECT_TRUE(board("rpi3").clusters[0].capacity == std::nullopt);
  EXPECT_TRUE(topology_json(board("rpi3"), {0})["clusters"][0]["capacity"].is_null());
}

TEST(CoreNames, PartNumbersOfTheStudysBoards) {
  EXPECT_EQ(arm_core_name(0x41, 0xd03), "Cortex-A53");
  EXPECT_EQ(arm_core_name(0x41, 0xc0f), "Cortex-A15");
  EXPECT_EQ(arm_core_name(0x41, 0xc07), "Cortex-A7");
  EXPECT_EQ(arm_core_name(0x41, 0xd07), "Cortex-A57");
  EXPECT_EQ(arm_core_name(0x4e, 0x003), "Denver2");
  EXPECT_EQ(arm_core_name(0x41, 0x003), "");  // the part number alone is not the core
}

// The live system: whatever it is, every online CPU is in exactly one cluster, and pinning to one
// of the CPUs this process may use takes effect.
TEST(LiveSystem, ClustersCoverTheOnlineCpus) {
  const Topology t = detect_topology();
  ASSERT_FALSE(t.online.empty());
  EXPECT_FALSE(t.architecture.empty());
  std::vector<int> covered;
  for (const Cluster& c : t.clusters) covered.insert(covered.end(), c.cpus.begin(), c.cpus.end());
  std::sort(covered.begin(), covered.end());
  EXPECT_EQ(covered, t.online);
  EXPECT_EQ(select_cpus(t, "all", ""), t.online);
  EXPECT_FALSE(select_cpus(t, "big", "").empty());
}

TEST(LiveSystem, PinProcessAndRestore) {
  const std::vector<int> before = current_affinity();
  ASSERT_FALSE(before.empty());
  pin_process({before.back()});
  EXPECT_EQ(current_affinity(), cpus({before.back()}));
  // A thread started now inherits the mask.
  std::vector<int> in_thread;
  std::thread([&] { in_thread = current_affinity(); }).join();
  EXPECT_EQ(in_thread, cpus({before.back()}));
  pin_process(before);
  EXPECT_EQ(current_affinity(), before);
  EXPECT_THROW(pin_process({}), Error);
  EXPECT_THROW(pin_current_thread({-1}), Error);
}

}  // namespace
}  // namespace libscout::platform
