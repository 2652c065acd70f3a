"""Shared by the *-corpus-expectations.py oracles: the exact data checksum and the table writer."""
import json
import os
import sys

import numpy as np


def checksum(values_xyz_fastest):
    """sum over i of bits(v_i) * (2i + 1) modulo 2**64 (bits = the IEEE-754 float32 pattern)."""
    bits = np.ascontiguousarray(values_xyz_fastest, dtype="<f4").view("<u4").ravel().astype(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        return int(np.sum(bits * weights, dtype=np.uint64))


def write_table(expectation):
    """argv: CORPUS_DIR OUT_JSON. Writes {"folder/file": expectation(path)} for every corpus file."""
    corpus, out = sys.argv[1], sys.argv[2]
    result = {}
    for folder in sorted(os.listdir(corpus)):
        base = os.path.join(corpus, folder)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            result[f"{folder}/{name}"] = expectation(os.path.join(base, name))
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    readable = sum(r["status"] in ("ok", "read") for r in result.values())
    print(f"{len(result)} files, {readable} readable", file=sys.stderr)
