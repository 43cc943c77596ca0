# CUDA: the GPU plugins (cublas provider, gemm:cublas and cudnn backends) are built when CMake finds
# a CUDA compiler and toolkit (nvcc on PATH, $CUDACXX, or /usr/local/cuda). No GPU is needed to
# build them: without one they are listed unavailable with the reason. Cross builds leave them out.
# -DLIBSCOUT_CUDA=OFF leaves them out anywhere.
option(LIBSCOUT_CUDA "Build the CUDA plugins when a CUDA toolkit is found" ON)
set(LIBSCOUT_HAVE_CUDA OFF)
if(NOT LIBSCOUT_CUDA OR CMAKE_CROSSCOMPILING)
  return()
endif()
if(NOT DEFINED ENV{CUDACXX} AND NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "libscout: CUDA compiler not found, GPU plugins left out")
  return()
endif()
# Real code for Turing, Ampere (A100, Jetson Orin's 8.7 runs 8.0 code), Ada, and Hopper with its
# PTX, which newer GPUs compile at load time.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 89-real 90)
endif()
enable_language(CUDA)
find_package(CUDAToolkit)
if(NOT CUDAToolkit_FOUND)
  message(STATUS "libscout: CUDA toolkit not found, GPU plugins left out")
  return()
endif()
find_path(LIBSCOUT_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(LIBSCOUT_CUDNN_LIB NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
set(LIBSCOUT_HAVE_CUDA ON)
message(STATUS "libscout: CUDA ${CUDAToolkit_VERSION} found, GPU plugins built "
               "(architectures ${CMAKE_CUDA_ARCHITECTURES})")
