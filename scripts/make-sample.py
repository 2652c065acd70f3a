#!/usr/bin/env python3
"""Make samples/tiny-tomo.mrc: a small noisy tomogram-like volume shipped for the README demo.

64×64×24 voxels, int16 (mode 1), 10 Å voxels: a slab of "ice" with a few dense spheres and a
membrane-like sheet, plus Gaussian noise. Deterministic (seed 7). Needs numpy and mrcfile.
"""
import sys

import mrcfile
import numpy as np

rng = np.random.default_rng(7)
nz, ny, nx = 24, 64, 64
z, y, x = np.mgrid[0:nz, 0:ny, 0:nx].astype(np.float32)
vol = np.where((z > 3) & (z < 20), 1.0, 0.0).astype(np.float32)
for cz, cy, cx, r in [(12, 20, 20, 6), (10, 44, 40, 4), (14, 30, 50, 3), (12, 50, 14, 5)]:
    vol += 3.0 * (((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) < r * r)
vol += 2.0 * (np.abs((x - 0.4 * y) - 30) < 1.2) * ((z > 5) & (z < 18))
vol = 100 * vol + rng.normal(0, 120, vol.shape)
out = sys.argv[1] if len(sys.argv) > 1 else "samples/tiny-tomo.mrc"
with mrcfile.new(out, overwrite=True) as m:
    m.set_data(np.round(vol).astype(np.int16))
    m.voxel_size = 10.0
    m.header.label[1] = "stdio-filter sample: spheres and a sheet in noisy ice (make-sample.py)"
    m.header.nlabl = 2
