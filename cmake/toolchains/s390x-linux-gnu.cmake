# IBM Z (Debian s390x): the big-endian target.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(FTC_CROSS_TRIPLET s390x-linux-gnu)
set(FTC_CROSS_ARCH s390x)
set(FTC_QEMU_NAME s390x)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
