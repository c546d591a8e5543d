# Shared part of the Debian cross toolchain files (aarch64-linux-gnu.cmake, …). The including
# file sets FTC_CROSS_TRIPLET, FTC_CROSS_ARCH (Debian's name) and CMAKE_SYSTEM_PROCESSOR.
#   Compilers: Debian's <triplet>-gcc/g++ (packages g++-<triplet>), their C and C++ runtimes in
#              /usr/<triplet>.
#   Libraries: the core's dependencies unpacked from the target's -dev packages into
#              FTC_CROSS_SYSROOT (scripts/install-cross-deps.sh), found through their .pc files.
#   Tests:     ctest runs each test binary under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), with
#              the sysroot's libraries on the guest's library path. FTC_QEMU_CPU (e.g.
#              max,sve-max-vq=2) picks the emulated CPU.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${FTC_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${FTC_CROSS_TRIPLET}-g++)

get_filename_component(_ftc_src "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(FTC_CROSS_SYSROOT "${_ftc_src}/build/cross/sysroot/${FTC_CROSS_ARCH}" CACHE PATH
    "Unpacked -dev packages of the target (scripts/install-cross-deps.sh)")
set(FTC_QEMU_CPU "" CACHE STRING "qemu-user -cpu value for the tests (empty: qemu's default)")
# Toolchain files are read again for try_compile projects: hand the cache values down.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FTC_CROSS_SYSROOT FTC_QEMU_CPU)

set(CMAKE_FIND_ROOT_PATH "${FTC_CROSS_SYSROOT}" /usr/${FTC_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Package configs: the target's, and the host's header-only ones (doctest, Eigen).
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(ENV{PKG_CONFIG_LIBDIR} "${FTC_CROSS_SYSROOT}/usr/lib/${FTC_CROSS_TRIPLET}/pkgconfig:${FTC_CROSS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FTC_CROSS_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")
# Headers of the sysroot, its multiarch ones (jconfig.h) included.
foreach(_lang C CXX)
  set(CMAKE_${_lang}_STANDARD_INCLUDE_DIRECTORIES
    "${FTC_CROSS_SYSROOT}/usr/include/${FTC_CROSS_TRIPLET}" "${FTC_CROSS_SYSROOT}/usr/include")
endforeach()
# Shared libraries that the sysroot's libraries need (libpng -> libz) at link time.
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT
  " -Wl,-rpath-link,${FTC_CROSS_SYSROOT}/usr/lib/${FTC_CROSS_TRIPLET}:${FTC_CROSS_SYSROOT}/lib/${FTC_CROSS_TRIPLET}")
string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT
  " -Wl,-rpath-link,${FTC_CROSS_SYSROOT}/usr/lib/${FTC_CROSS_TRIPLET}:${FTC_CROSS_SYSROOT}/lib/${FTC_CROSS_TRIPLET}")

set(_ftc_qemu qemu-${FTC_QEMU_NAME} -L /usr/${FTC_CROSS_TRIPLET}
  -E LD_LIBRARY_PATH=${FTC_CROSS_SYSROOT}/usr/lib/${FTC_CROSS_TRIPLET}:${FTC_CROSS_SYSROOT}/lib/${FTC_CROSS_TRIPLET})
if(FTC_QEMU_CPU)
  list(APPEND _ftc_qemu -cpu ${FTC_QEMU_CPU})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${_ftc_qemu})

# The Python module is an extension of the host's python3 (pybind11, python3-dev of the build
# machine), never of a cross target: off unless the caller insists (-DFTC_BUILD_PYTHON=ON).
set(FTC_BUILD_PYTHON OFF CACHE BOOL "Build the Python module ftc (pybind11, python/)")
