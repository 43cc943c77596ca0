# Optional libraries behind the plugin backends and providers. Each is looked for in the
# system (or, for cross builds, in the toolchain's search roots); a missing one only leaves its
# plugin out of the build, and `libscout list` says so.
include(FindPackageHandleStandardArgs)

find_path(LIBSCOUT_DNNL_INCLUDE dnnl.h)
find_library(LIBSCOUT_DNNL_LIB NAMES dnnl)
find_path(LIBSCOUT_XNNPACK_INCLUDE xnnpack.h)
find_library(LIBSCOUT_XNNPACK_LIB NAMES XNNPACK)
find_library(LIBSCOUT_PTHREADPOOL_LIB NAMES pthreadpool)
find_path(LIBSCOUT_PTHREADPOOL_INCLUDE pthreadpool.h)
find_path(LIBSCOUT_CLBLAST_INCLUDE clblast_c.h)
find_library(LIBSCOUT_CLBLAST_LIB NAMES clblast)
find_library(LIBSCOUT_OPENCL_LIB NAMES OpenCL)
find_path(LIBSCOUT_ARMCL_INCLUDE arm_compute/runtime/NEON/NEFunctions.h)
find_library(LIBSCOUT_ARMCL_LIB NAMES arm_compute)
find_library(LIBSCOUT_ARMCL_CORE_LIB NAMES arm_compute_core)
find_library(LIBSCOUT_CPUINFO_LIB NAMES cpuinfo)
find_path(LIBSCOUT_CPUINFO_INCLUDE cpuinfo.h)
