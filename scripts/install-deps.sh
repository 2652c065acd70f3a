#!/usr/bin/env bash
# Installs what stdio-filter needs on Debian 12: the C libraries (-dev packages), the tools the
# tests and benchmarks call, and the Python helpers the tests use as oracles (mrcfile, numpy, tifffile,
# and scipy + scikit-image for ../shared/tools/metrics.py, the oracle of `score`).
# Swift itself (6.0 or newer) must already be on PATH: see README "Install".
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  libopenblas-dev libdnnl-dev libfftw3-dev libtiff-dev libpng-dev pkg-config   # linked by the package
  gzip bzip2 xz-utils zstd                                # decompressors for .mrc.gz/.bz2/.xz/.zst input
  time python3 python3-pip                                # benchmarks (/usr/bin/time -v), test oracles
  gcc libc6-dev                                           # the tests build the example plugins (cc)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${CI:-}" = "true" ] || [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${APT_PACKAGES[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
fi

PIP_PACKAGES=(mrcfile numpy tifffile imagecodecs scipy scikit-image)   # independent oracles of the MRC, deconvolution, TIFF (compressed: imagecodecs) and score tests
if ! python3 -c 'import mrcfile, numpy, tifffile, imagecodecs, scipy, skimage' >/dev/null 2>&1; then
  echo "install-deps: pip install ${PIP_PACKAGES[*]}" >&2
  python3 -m pip install --quiet "${PIP_PACKAGES[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "${PIP_PACKAGES[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  cat >&2 <<'MSG'
install-deps: Swift 6 is not on PATH. Install a toolchain (https://www.swift.org/install/linux/,
for example with `swiftly install latest`) and run this again.
MSG
  exit 1
fi
