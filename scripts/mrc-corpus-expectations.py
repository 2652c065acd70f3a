#!/usr/bin/env python3
"""Write the expected reading of every MRC corpus file, for FilterKit's corpus tests.

The oracle is mrcfile 1.5.4 (permissive open) plus the corrections the corpus manifest asks for,
implemented here independently of the Swift reader:
  * mode 0 with the IMOD stamp and flag bit 1 clear holds unsigned bytes (mrcfile reads int8);
  * mode 101 (4-bit, rows padded to whole bytes, low nibble first) is decoded by hand;
  * MAPC/MAPR/MAPS other than 1,2,3 are permuted to X,Y,Z (mrcfile returns file order);
  * pre-2000 headers (no "MAP " at 208, bytes there in use) keep the origin at 208/212/216;
  * IMOD flag 4 means the stored origin has its sign inverted.
Data are compared through an exact checksum of the float32 values in X-fastest order:
  sum over i of bits(v_i) * (2i + 1)  modulo 2**64   (bits = the IEEE-754 pattern as uint32).
Usage: mrc-corpus-expectations.py CORPUS_DIR OUT_JSON
"""
import os
import struct
import sys
import warnings

import mrcfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_oracle import checksum, write_table  # noqa: E402




def raw_header(path):
    opener = open
    with open(path, "rb") as f:
        magic = f.read(3)
    if magic[:2] == b"\x1f\x8b":
        import gzip
        opener = gzip.open
    elif magic == b"BZh":
        import bz2
        opener = bz2.open
    with opener(path, "rb") as f:
        return f.read(1024), opener


def expectation(path):
    head, opener = raw_header(path)
    order = "<"
    mode = struct.unpack("<i", head[12:16])[0]
    if mode not in (0, 1, 2, 3, 4, 6, 12, 16, 101):
        order = ">"
        mode = struct.unpack(">i", head[12:16])[0]
    i32 = lambda off: struct.unpack(order + "i", head[off:off + 4])[0]
    f32 = lambda off: struct.unpack(order + "f", head[off:off + 4])[0]
    nx, ny, nz = i32(0), i32(4), i32(8)
    if mode in (3, 4):
        return {"status": "refused", "reason": "Fourier transform"}
    nsymbt = i32(92)
    with opener(path, "rb") as f:
        total = len(f.read())
    row_bytes = (nx + 1) // 2 if mode == 101 else nx * {0: 1, 1: 2, 2: 4, 6: 2, 12: 2}[mode]
    data_bytes = row_bytes * ny * nz
    if total < 1024 + data_bytes:
        return {"status": "refused", "reason": "truncated"}
    data_offset = 1024 + nsymbt if total >= 1024 + nsymbt + data_bytes else 1024

    imod_stamp, imod_flags = i32(152), i32(156)
    if mode == 101:
        with opener(path, "rb") as f:
            raw = np.frombuffer(f.read()[data_offset:data_offset + data_bytes], dtype=np.uint8)
        rows = raw.reshape(nz * ny, row_bytes)
        nibbles = np.empty((nz * ny, row_bytes * 2), dtype=np.uint8)
        nibbles[:, 0::2] = rows & 0x0F
        nibbles[:, 1::2] = rows >> 4
        data = nibbles[:, :nx].reshape(nz, ny, nx).astype(np.float32)
        dtype = "uint4"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mrcfile.open(path, permissive=True) as m:
                data = np.array(m.data).reshape(nz, ny, nx)
        if mode == 0 and imod_stamp == 1146047817 and not (imod_flags & 1):
            data = data.view(np.uint8)
        dtype = {0: "int8" if data.dtype == np.int8 else "uint8", 1: "int16", 2: "float32", 6: "uint16", 12: "float16"}[mode]
        data = data.astype(np.float32)

    # File order (section, row, column) -> spatial (z, y, x).
    mapcrs = [i32(64), i32(68), i32(72)]
    if sorted(mapcrs) == [1, 2, 3] and mapcrs != [1, 2, 3]:
        axis_of = {"c": mapcrs[0] - 1, "r": mapcrs[1] - 1, "s": mapcrs[2] - 1}
        # numpy axes of data: 0 = section, 1 = row, 2 = column; we want axes (z, y, x).
        numpy_axis_for_spatial = {axis_of["s"]: 0, axis_of["r"]: 1, axis_of["c"]: 2}
        data = np.transpose(data, (numpy_axis_for_spatial[2], numpy_axis_for_spatial[1], numpy_axis_for_spatial[0]))
    size = [int(data.shape[2]), int(data.shape[1]), int(data.shape[0])]

    cella = [f32(40), f32(44), f32(48)]
    mxyz = [i32(28), i32(32), i32(36)]
    voxel = [float(np.float32(c) / np.float32(m)) if m > 0 and c > 0 and np.isfinite(c) else 0.0 for c, m in zip(cella, mxyz)]
    old_style = head[208:212] != b"MAP " and any(head[208:216])
    origin = [f32(212), f32(216), f32(208)] if old_style else [f32(196), f32(200), f32(204)]
    if imod_stamp == 1146047817 and imod_flags & 4:
        origin = [-o for o in origin]
    return {
        "status": "ok",
        "size": size,
        "type": dtype,
        "voxel_size": voxel,
        "origin": origin,
        "checksum": str(checksum(data)),
        "min": float(data.min()), "max": float(data.max()), "mean": float(data.astype(np.float64).mean()),
    }


if __name__ == "__main__":
    write_table(expectation)
