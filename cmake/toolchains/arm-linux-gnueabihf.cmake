# 32-bit Arm, hard float (Debian armhf: ARMv7-A baseline, NEON reached by Highway's dispatch).
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(FTC_CROSS_TRIPLET arm-linux-gnueabihf)
set(FTC_CROSS_ARCH armhf)
set(FTC_QEMU_NAME arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
