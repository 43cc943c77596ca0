# Cross build for 32-bit ARM with hard-float and NEON (Debian armhf: Raspberry Pi 3 in 32-bit mode,
# ODROID XU3), with Debian's g++-arm-linux-gnueabihf and the armhf libraries of
# `scripts/install-deps.sh --arm`; the tests run under qemu-arm.
#   cmake -S . -B build-armhf -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
# Debian's armhf baseline is ARMv7-A with VFPv3-D16 and no NEON; every board of the study
# (Cortex-A7/A15/A53/A57) has NEON with VFPv4, so the build enables it.
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(LIBSCOUT_CROSS_TRIPLET arm-linux-gnueabihf)
set(LIBSCOUT_CROSS_DEB_ARCH armhf)
set(LIBSCOUT_CROSS_QEMU qemu-arm)
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
