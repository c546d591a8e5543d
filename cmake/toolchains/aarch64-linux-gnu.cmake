# 64-bit Arm (Debian arm64). Highway dispatches among NEON, SVE, SVE2 and their fixed-length forms.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FTC_CROSS_TRIPLET aarch64-linux-gnu)
set(FTC_CROSS_ARCH arm64)
set(FTC_QEMU_NAME aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
