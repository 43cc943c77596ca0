# Cross build for 64-bit ARM (Debian arm64: Raspberry Pi 3 in 64-bit mode, Jetson TX2), with
# Debian's g++-aarch64-linux-gnu and the arm64 libraries of `scripts/install-deps.sh --arm`;
# the tests run under qemu-aarch64. NEON (Advanced SIMD) is part of the base ARMv8-A ISA.
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LIBSCOUT_CROSS_TRIPLET aarch64-linux-gnu)
set(LIBSCOUT_CROSS_DEB_ARCH arm64)
set(LIBSCOUT_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
