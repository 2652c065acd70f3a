#!/usr/bin/env bash
# The README's main job: install, build, make a small synthetic tomogram with its ground truth,
# denoise it with Self2Self, score the result against the truth, run the chain deconv → s2s,
# denoise two independent halves of it with Noise2Noise, and draw a before/after preview.
# Everything goes to demo-out/ (about 9 minutes on 2 cores; set
# DEMO_STEPS for a longer, better training: the default s2s trains up to 7 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
BIN="$(swift build -c release --show-bin-path)/stdio-filter"
STEPS="${DEMO_STEPS:-400}"
mkdir -p demo-out
cd demo-out

echo "== 1. a synthetic cellular tomogram (128×128×64, 10 Å voxels, tomographic noise at SNR 0.1) and its ground truth"
"$BIN" synth --size 128x128x64 --seed 1 noisy.mrc --clean clean.mrc
"$BIN" info noisy.mrc | sed -n '1,4p'

echo "== 2. the same file through pipes: CTF deconvolution, then a Gaussian (nothing touches the disk in between),"
echo "      and the same chain in one process: bit for bit the same voxels"
"$BIN" deconv --quiet --defocus 3 < noisy.mrc | "$BIN" gaussian --quiet --sigma 1 > deconv-gauss-pipe.mrc
"$BIN" run --quiet --chain "deconv:defocus=3,gaussian:sigma=1" noisy.mrc deconv-gauss.mrc
cmp <(tail -c +1025 deconv-gauss-pipe.mrc) <(tail -c +1025 deconv-gauss.mrc) && echo "identical voxels"

echo "== 3. Self2Self denoising ($STEPS training steps, then distilled), the model saved, a picture of the run"
"$BIN" s2s --steps "$STEPS" --save-model s2s-model.safetensors --report s2s-report.png noisy.mrc denoised.mrc

echo "== 4. the score against the ground truth (and the gain over the noisy input)"
"$BIN" score clean.mrc denoised.mrc --noisy noisy.mrc

echo "== 5. the chain deconv → s2s in one process (a shorter training: 150 steps)"
"$BIN" run --chain "deconv:defocus=3,s2s:steps=150:distill-blocks=16" noisy.mrc deconv-s2s.mrc

echo "== 6. two halves (the same cell with independent noise, as even and odd tilts give): Noise2Noise ($STEPS steps)"
"$BIN" synth --quiet --size 128x128x64 --seed 1 half-a.mrc --halves half-b.mrc   # half-a.mrc has noisy.mrc's voxels
"$BIN" n2n --steps "$STEPS" half-a.mrc half-b.mrc n2n.mrc
"$BIN" score clean.mrc n2n.mrc --noisy noisy.mrc

echo "== 7. the preview: rows noisy, s2s, ground truth, deconv → s2s, n2n (XY, YZ beside it, XZ below)"
"$BIN" preview noisy.mrc denoised.mrc clean.mrc deconv-s2s.mrc n2n.mrc preview.png --scale 2 \
  --labels "noisy,s2s,ground truth,deconv then s2s,n2n (two halves)"
echo "open demo-out/preview.png to compare, and demo-out/s2s-report.png for the training (loss, noise correlation, before/after)"
