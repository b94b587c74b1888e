#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages swift-mocca needs. Idempotent; run as root or with sudo.
#   oneDNN (convolutions, batch norm, pooling, activations) and OpenBLAS's OpenMP build
#   (GEMMs). The OpenMP build matters: the pthread build slows oneDNN down when both run
#   in one process, so it is made the system's choice when both are installed.
set -euo pipefail

packages=(libdnnl-dev libopenblas-openmp-dev libturbojpeg0-dev libpng-dev zlib1g-dev libtiff-dev pkg-config)

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Prefer the OpenMP OpenBLAS where Debian's alternatives would pick the pthread one.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
openmp="/usr/lib/$arch/openblas-openmp"
# (openblas.pc and the headers are followers of the libopenblas.so group.)
for name in libopenblas.so libopenblas.so.0; do
  link="$name-$arch"
  target="$openmp/$name"
  if [ -e "$target" ] && update-alternatives --query "$link" >/dev/null 2>&1; then
    current=$(update-alternatives --query "$link" | awk '/^Value:/ {print $2}')
    [ "$current" = "$target" ] || $sudo update-alternatives --set "$link" "$target" >/dev/null
  fi
done

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (6.0 or newer) is not on PATH; install it from swift.org first." >&2
  exit 1
fi
echo "setup: ready ($(swift --version 2>/dev/null | head -1))"
