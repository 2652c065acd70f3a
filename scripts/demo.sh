#!/usr/bin/env bash
# The README's main job: install, build, and run stdio-filter on the shipped sample.
# Output goes to demo-out/ (the sample itself is never modified).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
BIN="$(swift build -c release --show-bin-path)/stdio-filter"
mkdir -p demo-out

echo "== the shipped sample (header as IMOD's 'header' shows it)"
"$BIN" info samples/tiny-tomo.mrc

echo "== int16 -> float32 through a pipe, then into a file with exact statistics"
"$BIN" convert --mode 2 < samples/tiny-tomo.mrc | "$BIN" convert - demo-out/tiny-tomo-float.mrc
"$BIN" info demo-out/tiny-tomo-float.mrc | sed -n '1,3p;9,12p;/Titles/,$p'

echo "== CTF deconvolution (IsoNet's deconv; pixel size from the header) through a pipe into a smoothing stage"
"$BIN" deconv --defocus 3 < samples/tiny-tomo.mrc | "$BIN" gaussian --sigma 0.7 > demo-out/tiny-tomo-deconv.mrc

echo "== the same chain in one process: bit for bit the same result"
"$BIN" run --chain "deconv:defocus=3,gaussian:sigma=0.7" samples/tiny-tomo.mrc demo-out/tiny-tomo-chain.mrc
cmp <(tail -c +1025 demo-out/tiny-tomo-deconv.mrc) <(tail -c +1025 demo-out/tiny-tomo-chain.mrc) && echo "identical voxels"
"$BIN" info demo-out/tiny-tomo-chain.mrc | sed -n '/Titles/,$p'

echo "== deconvolution then Self2Self denoising in one process (a short training for the demo: 100 steps)"
"$BIN" run --chain "deconv:defocus=3,s2s:steps=100:samples=4:save-model=demo-out/tiny-tomo-s2s.safetensors" \
  samples/tiny-tomo.mrc demo-out/tiny-tomo-s2s.mrc

echo "== to a TIFF stack that ImageJ/Fiji opens with its voxel size, and back"
"$BIN" convert demo-out/tiny-tomo-chain.mrc demo-out/tiny-tomo-chain.tif
"$BIN" info demo-out/tiny-tomo-chain.tif

echo "== and to float16 for a half-size copy"
"$BIN" convert --mode 12 samples/tiny-tomo.mrc demo-out/tiny-tomo-half.mrc
ls -l samples/tiny-tomo.mrc demo-out/
