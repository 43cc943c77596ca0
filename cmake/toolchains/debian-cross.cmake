# Shared part of the Debian cross toolchain files (aarch64-linux-gnu.cmake,
# arm-linux-gnueabihf.cmake). The including file sets:
#   LIBSCOUT_CROSS_TRIPLET   the GNU triplet and Debian multiarch name (aarch64-linux-gnu)
#   LIBSCOUT_CROSS_DEB_ARCH  the Debian architecture (arm64), naming the sysroot folder
#   LIBSCOUT_CROSS_QEMU      the qemu-user program that runs the target's binaries
#
# The compilers are Debian's cross compilers (g++-<triplet>, with their own C library in
# /usr/<triplet>/). Every other ARM library is in third_party/sysroot/<deb-arch>/, unpacked there
# by `scripts/install-deps.sh --arm` (a run-time root: /usr/lib/<triplet>/..., /usr/include/...).
# find_package / find_library / find_path look only there and in /usr/<triplet>/; programs are
# the host's. ctest runs the test binaries through qemu-user with the sysroot as its -L prefix, so
# that absolute paths the binaries open (the dynamic loader, the BLAS libraries dlopen'ed at
# /usr/lib/<triplet>/...) resolve inside the sysroot first.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${LIBSCOUT_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${LIBSCOUT_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${LIBSCOUT_CROSS_TRIPLET})

get_filename_component(LIBSCOUT_CROSS_SYSROOT
  "${CMAKE_CURRENT_LIST_DIR}/../../third_party/sysroot/${LIBSCOUT_CROSS_DEB_ARCH}" ABSOLUTE)
if(NOT EXISTS "${LIBSCOUT_CROSS_SYSROOT}/usr/lib/${LIBSCOUT_CROSS_TRIPLET}")
  message(FATAL_ERROR "no ${LIBSCOUT_CROSS_DEB_ARCH} sysroot in ${LIBSCOUT_CROSS_SYSROOT}: "
                      "run `bash scripts/install-deps.sh --arm` first")
endif()

# Not CMAKE_SYSROOT: the sysroot holds run-time libraries and library headers, while the C
# library's headers and start files stay the cross compiler's own (/usr/<triplet>/).
set(CMAKE_FIND_ROOT_PATH "${LIBSCOUT_CROSS_SYSROOT}" "/usr/${LIBSCOUT_CROSS_TRIPLET}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The linker resolves the dependencies of the sysroot's shared libraries (libcpuinfo needs
# nothing more, libXNNPACK needs libcpuinfo and libpthreadpool, ...) inside the sysroot.
set(_libscout_libdirs
  "${LIBSCOUT_CROSS_SYSROOT}/lib/${LIBSCOUT_CROSS_TRIPLET}"
  "${LIBSCOUT_CROSS_SYSROOT}/usr/lib/${LIBSCOUT_CROSS_TRIPLET}")
string(REPLACE ";" ":" _libscout_libpath "${_libscout_libdirs}")
foreach(kind EXE SHARED MODULE)
  string(APPEND CMAKE_${kind}_LINKER_FLAGS_INIT " -Wl,-rpath-link,${_libscout_libpath}")
endforeach()

# qemu-user: -L makes the guest's absolute paths resolve in the sysroot first; the loader finds
# the multiarch library folders through LD_LIBRARY_PATH (the sysroot has no ld.so.cache).
# QEMU_LD_PREFIX / the command line override nothing else of the test's environment.
find_program(LIBSCOUT_QEMU_PROGRAM ${LIBSCOUT_CROSS_QEMU})
if(NOT LIBSCOUT_QEMU_PROGRAM)
  message(WARNING "${LIBSCOUT_CROSS_QEMU} not found (package qemu-user): the tests cannot run here")
  set(LIBSCOUT_QEMU_PROGRAM ${LIBSCOUT_CROSS_QEMU})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
  "${LIBSCOUT_QEMU_PROGRAM};-L;${LIBSCOUT_CROSS_SYSROOT};-E;LD_LIBRARY_PATH=/lib/${LIBSCOUT_CROSS_TRIPLET}:/usr/lib/${LIBSCOUT_CROSS_TRIPLET}")

# The sysroot's library folders are the target's system folders: no run-path entries for them
# (the host path would mean nothing on the board; under qemu LD_LIBRARY_PATH above finds them).
list(APPEND CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES ${_libscout_libdirs})
