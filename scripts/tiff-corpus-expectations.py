#!/usr/bin/env python3
"""Write the expected reading of every TIFF corpus file, for FilterKit's TIFF corpus tests.

The oracle is tifffile (independent of libtiff and of the Swift reader), with the reading rules
the README documents, implemented here on their own:
  * pages are Z sections; RGB/multi-sample pages are refused;
  * an ImageJ hyperstack (channels=/frames=) yields channel 1 and frame 1 (planes C fastest,
    then Z, then T);
  * voxel size (Å): ImageJ unit= (nm, micron, ...) / X,YResolution and spacing= for Z; without
    ImageJ, a centimetre or inch ResolutionUnit when the pixel is 10 µm or finer; else unknown (0);
  * element type: uint8/int8/uint16/int16/float16/float32 as stored, wider types as float32.
Data are compared through the exact checksum of the float32 values of mrc-corpus-expectations.py.
Usage: tiff-corpus-expectations.py CORPUS_TIFF_DIR OUT_JSON
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_oracle import checksum, write_table  # noqa: E402
import tifffile

UNITS = {"nm": 10.0, "micron": 1e4, "um": 1e4, "\u00b5m": 1e4, "a": 1.0, "\u00c5": 1.0, "angstrom": 1.0, "mm": 1e7, "cm": 1e8}




def rational(tag):
    if tag is None:
        return 0.0
    n, d = tag.value
    return n / d if d else 0.0


def expectation(path):
    with tifffile.TiffFile(path) as tif:
        page0 = tif.pages[0]
        if page0.samplesperpixel != 1:
            return {"status": "refused", "reason": "samples per pixel"}
        data = np.stack([p.asarray() for p in tif.pages])
        ij = tif.imagej_metadata or {}
        channels, frames = ij.get("channels", 1), ij.get("frames", 1)
        if channels > 1 or frames > 1:
            slices = ij.get("slices", len(data) // (channels * frames))
            data = data[: channels * slices * frames].reshape((frames, slices, channels) + data.shape[1:])[0, :, 0]
        dtype = data.dtype
        kind = {"uint8": "uint8", "int8": "int8", "uint16": "uint16", "int16": "int16", "float16": "float16"}.get(dtype.name, "float32")
        xres, yres = rational(page0.tags.get("XResolution")), rational(page0.tags.get("YResolution"))
        unit = page0.tags.get("ResolutionUnit")
        unit = int(unit.value) if unit is not None else 2
        per_unit = None
        if "unit" in ij:
            per_unit = UNITS.get(str(ij["unit"]).lower())
        elif unit == 3:
            per_unit = 1e8
        elif unit == 2:
            per_unit = 2.54e8
        voxel = [0.0, 0.0, 0.0]
        if per_unit and xres > 0:
            x = per_unit / xres
            y = per_unit / yres if yres > 0 else x
            z = ij["spacing"] * per_unit if "spacing" in ij else x
            if "unit" in ij or x <= 1e5:
                voxel = [float(np.float32(x)), float(np.float32(y)), float(np.float32(z))]
        values = data.astype(np.float32)
        return {
            "status": "read",
            "size": [int(values.shape[2]), int(values.shape[1]), int(values.shape[0])],
            "type": kind,
            "voxel_size": voxel,
            "checksum": str(checksum(values)),
            "min": float(values.min()),
            "max": float(values.max()),
        }


if __name__ == "__main__":
    write_table(expectation)
