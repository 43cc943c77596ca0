// Plugin "clblast": the GEMM provider `clblast`, CLBlast's SGEMM over OpenCL. On this kind of
// machine OpenCL is PoCL on the CPU; on a board with a GPU OpenCL driver (Mali, Adreno, ...) it is
// that GPU.
//
// Device and memory:
//   - The OpenCL device is chosen once per provider: $LIBSCOUT_OPENCL_PLATFORM and
//     $LIBSCOUT_OPENCL_DEVICE (indices as `clinfo -l` lists them) when set, else the first GPU of
//     any platform, else the first device of any type.
//   - Device buffers for A, B and C are allocated on first use and kept (grown when a call needs
//     more), so allocation is not timed; but every sgemm() call copies A, B (and C when beta != 0)
//     to the device and C back, so the provider keeps the host-memory contract of gemm_provider.h
//     and a caller can change its operands between calls. C's region is copied row by row (rect
//     copies), so columns past N of a padded C are never written. With beta == 0 the device C is
//     cleared instead of copied (it may hold NaN on the host).
//   - The sgemm() time therefore includes the transfers; last_compute_seconds() reports the part
//     from enqueuing CLBlast's kernels to their completion (libscout gemm quotes both).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/plugins.h"
#include "measure/gemm_sweep.h"

namespace libscout::gemm {
namespace {

std::string cl_error(const std::string& what, cl_int code) {
  return what + " failed (OpenCL error " + std::to_string(code) + ")";
}

void check(cl_int code, const std::string& what) {
  if (code != CL_SUCCESS) throw Error("clblast: " + cl_error(what, code));
}

std::string device_string(cl_device_id d, cl_device_info what) {
  std::size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  clGetDeviceInfo(d, what, size, s.data(), nullptr);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// Reads an index from the environment; -1 when unset. Throws Error when set but not a number.
int env_index(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  const long i = std::strtol(v, &end, 10);
  if (*end != '\0' || i < 0) throw Error(std::string(name) + "='" + v + "' is not an index");
  return static_cast<int>(i);
}

struct Selected {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
};

// Picks the device as the header says; throws Unavailable with the reason when there is none.
Selected select_device() {
  cl_uint count = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &count);
  if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && count == 0)) {
    throw Unavailable("no OpenCL platform is installed (install an OpenCL driver, e.g. Debian's "
                      "pocl-opencl-icd for the CPU or the board's GPU driver)");
  }
  if (err != CL_SUCCESS) throw Unavailable(cl_error("clGetPlatformIDs", err));
  std::vector<cl_platform_id> platforms(count);
  clGetPlatformIDs(count, platforms.data(), nullptr);

  auto devices_of = [](cl_platform_id p, cl_device_type type) {
    cl_uint n = 0;
    std::vector<cl_device_id> out;
    if (clGetDeviceIDs(p, type, 0, nullptr, &n) == CL_SUCCESS && n > 0) {
      out.resize(n);
      clGetDeviceIDs(p, type, n, out.data(), nullptr);
    }
    return out;
  };

  const int want_platform = env_index("LIBSCOUT_OPENCL_PLATFORM");
  const int want_device = env_index("LIBSCOUT_OPENCL_DEVICE");
  if (want_platform >= 0 || want_device >= 0) {
    const int pi = std::max(want_platform, 0), di = std::max(want_device, 0);
    if (pi >= static_cast<int>(count)) {
      throw Unavailable("LIBSCOUT_OPENCL_PLATFORM=" + std::to_string(pi) + " but there are " +
                        std::to_string(count) + " OpenCL platform(s)");
    }
    const auto devices = devices_of(platforms[pi], CL_DEVICE_TYPE_ALL);
    if (di >= static_cast<int>(devices.size())) {
      throw Unavailable("LIBSCOUT_OPENCL_DEVICE=" + std::to_string(di) + " but OpenCL platform " +
                        std::to_string(pi) + " has " + std::to_string(devices.size()) +
                        " device(s)");
    }
    return {platforms[pi], devices[di]};
  }
  for (cl_platform_id p : platforms) {
    const auto gpus = devices_of(p, CL_DEVICE_TYPE_GPU);
    if (!gpus.empty()) return {p, gpus[0]};
  }
  for (cl_platform_id p : platforms) {
    const auto any = devices_of(p, CL_DEVICE_TYPE_ALL);
    if (!any.empty()) return {p, any[0]};
  }
  throw Unavailable("the OpenCL platform(s) installed report no device");
}

// One device buffer, grown on demand.
struct DeviceBuffer {
  cl_mem mem = nullptr;
  std::size_t bytes = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (mem != nullptr) clReleaseMemObject(mem);
  }
  void reserve(cl_context ctx, std::size_t need) {
    if (need <= bytes && mem != nullptr) return;
    if (mem != nullptr) clReleaseMemObject(mem);
    mem = nullptr;
    cl_int err = CL_SUCCESS;
    mem = clCreateBuffer(ctx, CL_MEM_READ_WRITE, need, nullptr, &err);
    check(err, "clCreateBuffer of " + std::to_string(need) + " bytes");
    bytes = need;
  }
};

class ClblastProvider final : public Provider, public DeviceComputeTimer {
 public:
  ClblastProvider() {
    const Selected s = select_device();
    device_ = s.device;
    cl_int err = CL_SUCCESS;
    context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &err);
    check(err, "clCreateContext");
    queue_ = clCreateCommandQueue(context_, device_, 0, &err);
    check(err, "clCreateCommandQueue");
    cl_uint units = 1;
    clGetDeviceInfo(device_, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, nullptr);
    compute_units_ = static_cast<int>(units);
    version_ = "CLBlast " + std::to_string(CLBLAST_VERSION_MAJOR) + "." +
               std::to_string(CLBLAST_VERSION_MINOR) + "." +
               std::to_string(CLBLAST_VERSION_PATCH) + " on " +
               device_string(device_, CL_DEVICE_NAME) + " (" +
               device_string(device_, CL_DEVICE_VERSION) + ")";
  }
  ~ClblastProvider() override {
    if (queue_ != nullptr) clReleaseCommandQueue(queue_);
    if (context_ != nullptr) clReleaseContext(context_);
  }

  std::string name() const override { return "clblast"; }
  std::string version() const override { return version_; }
  // The OpenCL driver decides how many cores or GPU units run the kernels; report them.
  int set_threads(int) override { return compute_units_; }
  bool has_device_memory() const override { return true; }
  double last_compute_seconds() const override { return compute_seconds_; }

  void sgemm(const SgemmArgs& g) override {
    if (g.m < 0 || g.n < 0 || g.k < 0) throw Error("clblast: negative GEMM size");
    compute_seconds_ = 0;
    if (g.m == 0 || g.n == 0) return;
    const bool ta = g.trans_a == Trans::kYes, tb = g.trans_b == Trans::kYes;
    const std::size_t a_rows = ta ? g.k : g.m, a_cols = ta ? g.m : g.k;
    const std::size_t b_rows = tb ? g.n : g.k, b_cols = tb ? g.k : g.n;
    auto extent = [](std::size_t rows, std::size_t cols, int ld) {
      return rows == 0 || cols == 0 ? sizeof(float)
                                    : ((rows - 1) * static_cast<std::size_t>(ld) + cols) * sizeof(float);
    };
    a_.reserve(context_, extent(a_rows, a_cols, g.lda));
    b_.reserve(context_, extent(b_rows, b_cols, g.ldb));
    c_.reserve(context_, extent(g.m, g.n, g.ldc));

    if (g.k > 0) {
      write_rect(a_.mem, g.a, a_rows, a_cols, g.lda);
      write_rect(b_.mem, g.b, b_rows, b_cols, g.ldb);
    }
    if (g.beta != 0.0f) {
      write_rect(c_.mem, g.c, g.m, g.n, g.ldc);
    } else {
      const float zero = 0.0f;
      check(clEnqueueFillBuffer(queue_, c_.mem, &zero, sizeof zero, 0, c_.bytes, 0, nullptr, nullptr),
            "clEnqueueFillBuffer");
    }
    check(clFinish(queue_), "clFinish after the uploads");

    const auto t0 = std::chrono::steady_clock::now();
    cl_event done = nullptr;
    const CLBlastStatusCode status = CLBlastSgemm(
        CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        tb ? CLBlastTransposeYes : CLBlastTransposeNo, g.m, g.n, g.k, g.alpha, a_.mem, 0, g.lda,
        b_.mem, 0, g.ldb, g.beta, c_.mem, 0, g.ldc, &queue_, &done);
    if (status != CLBlastSuccess) {
      throw Error("clblast: CLBlastSgemm failed with status " + std::to_string(status));
    }
    check(clWaitForEvents(1, &done), "waiting for CLBlast's kernels");
    clReleaseEvent(done);
    check(clFinish(queue_), "clFinish after CLBlast");
    compute_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const std::size_t origin[3] = {0, 0, 0};
    const std::size_t region[3] = {static_cast<std::size_t>(g.n) * sizeof(float),
                                   static_cast<std::size_t>(g.m), 1};
    const std::size_t pitch = static_cast<std::size_t>(g.ldc) * sizeof(float);
    check(clEnqueueReadBufferRect(queue_, c_.mem, CL_TRUE, origin, origin, region, pitch, 0, pitch,
                                  0, g.c, 0, nullptr, nullptr),
          "reading C back");
  }

 private:
  void write_rect(cl_mem dst, const float* src, std::size_t rows, std::size_t cols, int ld) {
    if (rows == 0 || cols == 0) return;
    const std::size_t origin[3] = {0, 0, 0};
    const std::size_t region[3] = {cols * sizeof(float), rows, 1};
    const std::size_t pitch = static_cast<std::size_t>(ld) * sizeof(float);
    check(clEnqueueWriteBufferRect(queue_, dst, CL_FALSE, origin, origin, region, pitch, 0, pitch,
                                   0, src, 0, nullptr, nullptr),
          "copying an operand to the device");
  }

  cl_device_id device_ = nullptr;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  DeviceBuffer a_, b_, c_;
  int compute_units_ = 1;
  double compute_seconds_ = 0;
  std::string version_;
};

std::string unavailable_reason() {
  try {
    select_device();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace
}  // namespace libscout::gemm

LIBSCOUT_PLUGIN_PROVIDES("provider", "clblast");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_provider({"clblast",
                         "CLBlast SGEMM over OpenCL (the first GPU, else the first device; "
                         "LIBSCOUT_OPENCL_PLATFORM / LIBSCOUT_OPENCL_DEVICE pick one)",
                         libscout::gemm::unavailable_reason,
                         [] { return std::make_unique<libscout::gemm::ClblastProvider>(); }});
}
