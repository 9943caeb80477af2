#!/usr/bin/env bash
# Run on the build machine before a real-GPU check: builds target/release/popdecode and gathers what a lent GPU
# machine lacks, Debian's Vulkan loader (package libvulkan1), into .device/ (git-ignored). Measures nothing.
#
# Usage, from anywhere:  bash scripts/device/prepare.sh
#   BUILD=0   skip `cargo build --release --locked` (use a binary built otherwise)
# Afterwards .device/ holds:
#   vulkan/libvulkan1_*.deb        the package as fetched
#   vulkan/lib/libvulkan.so.1      the loader itself (a plain file; check.sh and bench.sh put it on LD_LIBRARY_PATH)
#   vulkan/VERSION                 the package's version
#   build.txt                      the commit, whether the tree had changes, the date and the binary's md5
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mkdir -p .device/vulkan/lib
if ! ls .device/vulkan/libvulkan1_*.deb >/dev/null 2>&1; then
  # apt's own package lists are left alone: the amd64 lists go to a scratch folder.
  apt=$(mktemp -d)
  trap 'rm -rf "$apt"' EXIT
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  o=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o APT::Sandbox::User=root
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache")
  apt-get "${o[@]}" update -qq
  (cd .device/vulkan && apt-get "${o[@]}" download libvulkan1 >/dev/null)
fi
deb=$(ls .device/vulkan/libvulkan1_*.deb | head -n 1)
if [ ! -f .device/vulkan/lib/libvulkan.so.1 ]; then
  x=$(mktemp -d)
  dpkg-deb -x "$deb" "$x"
  cp -L "$x"/usr/lib/x86_64-linux-gnu/libvulkan.so.1 .device/vulkan/lib/libvulkan.so.1
  rm -rf "$x"
fi
dpkg-deb -f "$deb" Version >.device/vulkan/VERSION

if [ "${BUILD:-1}" = 1 ]; then
  cargo build --release --locked
fi
bin=target/release/popdecode
{
  echo "commit $(git rev-parse --short HEAD) \"$(git log -1 --format=%s)\"$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')"
  echo "prepared $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
  if [ -f "$bin" ]; then echo "binary $bin md5 $(md5sum <"$bin" | cut -d' ' -f1)"; fi
  echo "vulkan loader: libvulkan1 $(cat .device/vulkan/VERSION)"
} >.device/build.txt
cat .device/build.txt
echo "ready: carry [\".device\", \"target/release/popdecode\"] and run, with OUT set:"
echo "  bash scripts/device/check.sh; bash scripts/device/bench.sh"
