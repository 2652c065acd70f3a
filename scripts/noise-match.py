#!/usr/bin/env python3
"""How well a back-projected phantom's noise matches a real tomogram's (issue 35).

usage: noise-match.py DIR [DIR ...]   # each DIR holds even.mrc and odd.mrc (or even-tilts.mrc and odd-tilts.mrc)

One JSON line per DIR: the halves' correlation (what the N2N score starts from), the correlation
of the noise (even − odd: the signal cancels) with its neighbours at lags 1 and 2 along X, Y, Z,
and the fraction of the noise power in bands of |k| (cycles/voxel: 0–0.1, 0.1–0.2, … 0.5–0.87).
Compare a phantom (`synth --tilt-series … --tilt-halves even.mrc,odd.mrc`) with the real crop
(`../shared/tools/reconstruct.py … --crop 36:164,219:411,230:422`).
"""
import json, os, sys
import mrcfile
import numpy as np


def read(d, names):
    for n in names:
        p = os.path.join(d, n)
        if os.path.exists(p):
            return mrcfile.read(p).astype(np.float64)
    sys.exit(f"{d}: none of {names}")


def corr(a, b):
    a = a - a.mean(); b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def lag(d, axis, k):
    n = d.shape[axis]
    return corr(np.take(d, range(0, n - k), axis=axis), np.take(d, range(k, n), axis=axis))


for d in sys.argv[1:]:
    even = read(d, ["even.mrc", "even-tilts.mrc"]); odd = read(d, ["odd.mrc", "odd-tilts.mrc"])
    noise = even - odd
    r = {"dir": d, "halves_corr": round(corr(even, odd), 4)}
    for axis, name in ((2, "X"), (1, "Y"), (0, "Z")):
        r[name] = [round(lag(noise, axis, k), 2) for k in (1, 2)]
    power = np.abs(np.fft.fftn(noise)) ** 2
    k = np.sqrt(sum(f ** 2 for f in np.meshgrid(*[np.fft.fftfreq(s) for s in noise.shape], indexing="ij")))
    edges = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9]
    r["power_by_k"] = [round(float(power[(k >= a) & (k < b)].sum() / power.sum()), 3) for a, b in zip(edges, edges[1:])]
    print(json.dumps(r))
