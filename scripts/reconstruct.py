#!/usr/bin/env python3
"""Weighted back-projection of the EMPIAR-10499 tilt series shipped in PyPI's warpylib 1.1.2 sdist
(testdata/00254.stack.mrc + xf_import/00254.{xf,tlt}; MIT package, EMPIAR data).

Writes full / even-tilt / odd-tilt tomograms (float32, Z Y X, tilt axis along Y, beam along Z).
This copy of ../shared/tools/reconstruct.py adds --parts N: with N > 2 it writes part0 ... part{N-1},
the tilts with index i mod N == k (thirds for N = 3: train a two-half method on two, score on the third).
Even and odd halves see independent noise (different exposures): a denoiser run on one half is
scored against the other half (noise2noise-style validation: E|f(even)-odd|^2 = E|f(even)-s|^2 + var(n_odd)).

usage: reconstruct.py STACKDIR OUTDIR [--parts 2] [--bin 1] [--thickness 256] [--radial 0.35 0.05] [--crop z0:z1,y0:y1,x0:x1] [--transpose-xy]
"""
import argparse, os, numpy as np, mrcfile
from scipy import ndimage

ap = argparse.ArgumentParser()
ap.add_argument("stackdir"); ap.add_argument("outdir")
ap.add_argument("--bin", type=int, default=1)
ap.add_argument("--parts", type=int, default=2, help="tilt subsets by index mod N: 2 writes even/odd, more writes part0..partN-1")
ap.add_argument("--thickness", type=int, default=256, help="Z size in output voxels")
ap.add_argument("--radial", type=float, nargs=2, default=(0.35, 0.05), help="IMOD-style ramp cutoff and Gaussian falloff (cycles/pixel)")
ap.add_argument("--transpose-xy", action="store_true", help="write volumes with X and Y swapped (tilt axis along X)")
ap.add_argument("--crop", default=None, help="z0:z1,y0:y1,x0:x1 of the reconstructed volume (before any transpose)")
a = ap.parse_args()
os.makedirs(a.outdir, exist_ok=True)
with mrcfile.open(os.path.join(a.stackdir, "00254.stack.mrc"), permissive=True) as m:
    ts = m.data.astype(np.float32); apix = float(m.voxel_size.x)
tlt = np.loadtxt(os.path.join(a.stackdir, "00254.tlt")); xf = np.loadtxt(os.path.join(a.stackdir, "00254.xf"))
b = a.bin
if b > 1:
    ts = ts[:, :ts.shape[1] // b * b, :ts.shape[2] // b * b]
    ts = ts.reshape(ts.shape[0], ts.shape[1] // b, b, ts.shape[2] // b, b).mean((2, 4))
n, ny, nx = ts.shape
cy, cx = (ny - 1) / 2, (nx - 1) / 2
ali = np.empty_like(ts)
for i in range(n):   # IMOD .xf: [A11 A12 A21 A22 DX DY], raw -> aligned about the centre
    A = xf[i, :4].reshape(2, 2); d = xf[i, 4:] / b; Ainv = np.linalg.inv(A)
    M = np.array([[Ainv[1, 1], Ainv[1, 0]], [Ainv[0, 1], Ainv[0, 0]]]); c = np.array([cy, cx]); dd = np.array([d[1], d[0]])
    ali[i] = ndimage.affine_transform(ts[i], M, offset=c - M @ (c + dd), order=1, mode="nearest")
# per-tilt standardisation, taper the edges in X, ramp filter with IMOD-like radial falloff
ali = (ali - ali.mean(axis=(1, 2), keepdims=True)) / ali.std(axis=(1, 2), keepdims=True)
f = np.fft.rfftfreq(nx)
cut, fall = a.radial
w = np.abs(f) * np.where(f <= cut, 1.0, np.exp(-((f - cut) ** 2) / (2 * fall ** 2)))
w[0] = 0.5 * f[1] * 0.5
ali = np.fft.irfft(np.fft.rfft(ali, axis=2) * w, n=nx, axis=2).astype(np.float32)
nz = a.thickness
x = np.arange(nx) - cx; z = np.arange(nz) - (nz - 1) / 2
X, Z = np.meshgrid(x, z)          # (nz, nx)
halves = [np.zeros((nz, ny, nx), np.float32) for _ in range(a.parts)]
for i, t in enumerate(np.deg2rad(tlt)):
    u = X * np.cos(t) + Z * np.sin(t) + cx
    valid = ((u >= 0) & (u <= nx - 1)).astype(np.float32)
    u0 = np.clip(np.floor(u).astype(np.int64), 0, nx - 2); wgt = (u - u0).astype(np.float32)
    p = ali[i]                                       # (ny, nx)
    bp = (p[:, u0] * (1 - wgt) + p[:, u0 + 1] * wgt) * valid   # (ny, nz, nx)
    halves[i % a.parts] += bp.transpose(1, 0, 2)
full = sum(halves)
crop = tuple(slice(*map(int, r.split(":"))) for r in a.crop.split(",")) if a.crop else (slice(None),) * 3
names = ["even", "odd"] if a.parts == 2 else ["part%d" % k for k in range(a.parts)]
for name, v in [("full", full)] + list(zip(names, halves)):
    v = v[crop]
    v = (v - v.mean()) / v.std()
    if a.transpose_xy: v = np.ascontiguousarray(v.transpose(0, 2, 1))
    with mrcfile.new(os.path.join(a.outdir, name + ".mrc"), overwrite=True) as m:
        m.set_data(v.astype(np.float32)); m.voxel_size = apix * b
print("wrote", a.outdir, v.shape, "voxel", apix * b, "A")
