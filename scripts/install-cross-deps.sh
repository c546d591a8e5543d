#!/usr/bin/env bash
# Installs what the cross stage (scripts/cross_test.sh) needs on a Debian 12 x86-64 machine:
#   - Debian's cross compilers and qemu-user (host packages, apt-get install);
#   - for each target, the core's libraries (zstd, Highway, xxhash, libpng, libjpeg) from the
#     target's multiarch -dev packages, unpacked into a sysroot of the build tree:
#       $FTC_CROSS_ROOT/sysroot/<arch>/usr/{include,lib/<triplet>}
#
#   scripts/install-cross-deps.sh [ROOT]      ROOT defaults to build/cross
#
# The foreign packages are fetched with a private apt state (the target architectures named in
# APT::Architectures, lists and cache under ROOT/apt) and unpacked with dpkg-deb, not installed
# with dpkg --add-architecture: installing them beside the host's would need every Multi-Arch:
# same package (libzstd1, libpng16-16, …) at the host's exact version, which the archive does not
# always hold for every architecture at once, and a foreign architecture whose index fails to
# download makes every later `apt-get update` of the machine exit non-zero. The machine's dpkg
# and apt configuration are left as they were. Idempotent: a sysroot already complete is kept.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-${FTC_CROSS_ROOT:-$src/build/cross}}
arches=(arm64 armhf s390x)
host_packages=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-s390x-linux-gnu qemu-user binutils-aarch64-linux-gnu)
# The core's libraries and what their .so files need besides the C and C++ runtimes, which the
# cross compilers bring (/usr/<triplet>).
target_packages=(libzstd-dev libzstd1 libhwy-dev libhwy1 libxxhash-dev libxxhash0 libpng-dev libpng16-16
  zlib1g-dev zlib1g libjpeg62-turbo-dev libjpeg62-turbo)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
missing=()
for p in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi

stamp_of() { echo "$root/sysroot/$1/.complete"; }
need=()
for a in "${arches[@]}"; do [[ -f $(stamp_of "$a") ]] || need+=("$a"); done
[[ ${#need[@]} -eq 0 ]] && exit 0

apt_dir="$root/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
apt_opts=(-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o Dir::State::status=/dev/null
  -o APT::Sandbox::User=root)
for a in "${need[@]}"; do apt_opts+=(-o APT::Architectures::="$a"); done
# An index that fails to download (a mirror in sync) is reported and skipped; a package it would
# have provided then fails below by name.
apt-get "${apt_opts[@]}" update -qq || echo "install-cross-deps: some package indexes failed to download; going on" >&2
for a in "${need[@]}"; do
  debs="$apt_dir/debs/$a"
  rm -rf "$debs" "$root/sysroot/$a"
  mkdir -p "$debs" "$root/sysroot/$a"
  (cd "$debs" && apt-get "${apt_opts[@]}" download "${target_packages[@]/%/:$a}")
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root/sysroot/$a"; done
  # Absolute links (libz.so -> /lib/<triplet>/…) point into the sysroot instead.
  while IFS= read -r link; do
    ln -sfn "$root/sysroot/$a$(readlink "$link")" "$link"
  done < <(find "$root/sysroot/$a" -type l -lname '/*')
  touch "$(stamp_of "$a")"
done
