#!/usr/bin/env python3
"""How much of a half-tomogram's own noise a blind-spot predictor can learn (issue 16).

For each blind region, fits the best *linear* J-invariant predictor of every voxel of HALF from
the voxels around it outside the region (least squares over the whole volume, from its
autocorrelation: the closed-form optimum a network approximates), and reports
  corr  Pearson correlation of the prediction with the independent OTHER half (signal found),
  leak  correlation of the prediction with HALF - OTHER (noise of HALF it learnt to predict;
        zero for a region that hides every correlated voxel),
  loss  the self-supervised loss mean((prediction - HALF)^2) on the standardised half.
Also prints where the signal shared by the halves lives (coherence per frequency band).
    python3 scripts/blind-region-leak.py HALF.mrc OTHER.mrc
About 5 minutes for the 128x192x192 benchmark crop on 2 cores."""
import sys, time
import numpy as np, mrcfile
from numpy.fft import rfftn, irfftn, fftn, fftfreq
from scipy.ndimage import correlate

def corr(a, b):
    a = a - a.mean(); b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

def autocorrelation(v):
    shape = [2 * n for n in v.shape]
    a = irfftn(np.abs(rfftn(v, shape, axes=(0, 1, 2))) ** 2, shape, axes=(0, 1, 2))
    return a / a.flat[0]

def linear_predictor(ac, support, hidden):
    """Kernel over `support` (rz, ry, rx) minimising the squared error, zero on `hidden`."""
    rz, ry, rx = support
    offs = np.array([(z, y, x) for z in range(-rz, rz + 1) for y in range(-ry, ry + 1)
                     for x in range(-rx, rx + 1) if not hidden(z, y, x)])
    s = ac.shape
    d = offs[:, None, :] - offs[None, :, :]
    gram = ac[d[..., 0] % s[0], d[..., 1] % s[1], d[..., 2] % s[2]]
    rhs = ac[offs[:, 0] % s[0], offs[:, 1] % s[1], offs[:, 2] % s[2]]
    kernel = np.zeros((2 * rz + 1, 2 * ry + 1, 2 * rx + 1))
    kernel[offs[:, 0] + rz, offs[:, 1] + ry, offs[:, 2] + rx] = np.linalg.solve(gram, rhs)
    return kernel

def main(half_path, other_path):
    x = mrcfile.read(half_path).astype(np.float64); o = mrcfile.read(other_path).astype(np.float64)
    x = (x - x.mean()) / x.std(); o = (o - o.mean()) / o.std()
    noise = x - o
    ac, acn = autocorrelation(x), autocorrelation(noise)
    s = acn.shape
    print("noise correlation (HALF - OTHER) along Z at dx=dy=0, lags 1..8:",
          " ".join("%+.2f" % acn[z % s[0], 0, 0] for z in range(1, 9)))
    def box(hz, hy, hx): return lambda z, y, x: abs(z) <= hz and abs(y) <= hy and abs(x) <= hx
    def measured(t): return lambda z, y, x: (z, y, x) == (0, 0, 0) or (
        max(abs(z), abs(y), abs(x)) <= 8 and abs(acn[z % s[0], y % s[1], x % s[2]]) >= t)
    regions = [("box ±3 X ±1 Y ±2 Z", box(2, 1, 3)), ("box ±6 X ±2 Y ±4 Z", box(4, 2, 6)),
               ("box ±8 X ±3 Y ±8 Z", box(8, 3, 8)), ("|rho| >= 0.1 (s2s auto)", measured(0.1)),
               ("|rho| >= 0.02", measured(0.02)), ("whole XZ planes, |dy| <= 1", lambda z, y, x: abs(y) <= 1),
               # every ray of a +-60 degree tilt series through the voxel, and the ramp filter's reach along X
               ("tilt fan +-60 deg, |dy| <= 1", lambda z, y, x: abs(y) <= 1 and abs(x) <= 1.75 * abs(z) + 3)]
    print("%-28s %8s %8s %8s" % ("blind region", "corr", "leak", "loss"))
    for name, hidden in regions:
        t = time.time()
        y = correlate(x, linear_predictor(ac, (12, 5, 10), hidden), mode="nearest")
        print("%-28s %8.4f %8.4f %8.4f  (%.0f s)" % (name, corr(y, o), corr(y, noise),
              np.mean((y - x) ** 2), time.time() - t), flush=True)
    print("input: corr %.4f" % corr(x, o))
    X, O = fftn(x), fftn(o)
    cross, px, po = (X * O.conj()).real, np.abs(X) ** 2, np.abs(O) ** 2
    freqs = np.meshgrid(*[fftfreq(n) for n in x.shape], indexing="ij")
    edges = [0, 0.02, 0.05, 0.1, 0.2, 0.51]
    for axis, name in [(2, "X"), (1, "Y"), (0, "Z")]:
        k = np.abs(freqs[axis])
        cells = []
        for a, b in zip(edges[:-1], edges[1:]):
            m = (k >= a) & (k < b)
            cells.append("%.2f-%.2f coherence %.3f, %2.0f %% of shared power" % (
                a, min(b, 0.5), cross[m].sum() / np.sqrt(px[m].sum() * po[m].sum()), 100 * cross[m].sum() / cross.sum()))
        print("k%s: %s" % (name, "; ".join(cells)))

if __name__ == "__main__":
    main(*sys.argv[1:3])
