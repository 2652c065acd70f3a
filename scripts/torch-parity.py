#!/usr/bin/env python3
"""Checks a Swift-saved S2S U-Net against ../shared/tools/torch_s2s3d.py (PyTorch).

Usage: torch-parity.py MODEL.safetensors CASE.safetensors
MODEL holds the weights under the PyTorch state-dict names (loaded with strict=True); CASE holds
`x` and `mask` (1, D, H, W, 1 channels-last = (1, 1, D, H, W) for one channel), the Swift output
`out` and the Swift gradients `grad.<parameter>` of the masked MSE. Dropout is off (the model's
s2s.dropout is 0). Prints one JSON line with the worst relative differences; exits 1 above 1e-4.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools"))
import torch_s2s3d  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    meta = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, d in header.items():
        b, e = d["data_offsets"]
        tensors[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(d["shape"]).copy()
    return tensors, meta


def main():
    weights, meta = read_safetensors(sys.argv[1])
    case, _ = read_safetensors(sys.argv[2])
    top = [int(v) for v in meta["s2s.top"].split(",")]
    net = torch_s2s3d.S2SUNet3D(n_pools=int(meta["s2s.pools"]), enc_ch=int(meta["s2s.encoder_channels"]),
                               dec_ch=int(meta["s2s.decoder_channels"]), top=tuple(top), p_drop=float(meta["s2s.dropout"]))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    shape = case["x"].shape  # (1, D, H, W, 1)
    x = torch.from_numpy(case["x"].reshape(1, 1, *shape[1:4])).double().float()
    m = torch.from_numpy(case["mask"].reshape(1, 1, *shape[1:4]))
    out = net(x, m)
    w = 1.0 - m
    loss = ((out - x) ** 2 * w).sum() / w.sum().clamp_min(1.0)
    loss.backward()

    def rel(a, b):
        return float(np.abs(a - b).max() / max(1e-30, np.abs(b).max()))

    result = {"output": rel(case["out"].reshape(-1), out.detach().numpy().reshape(-1))}
    worst_grad = 0.0
    for name, p in net.named_parameters():
        worst_grad = max(worst_grad, rel(case["grad." + name].reshape(-1), p.grad.numpy().reshape(-1)))
    result["gradients"] = worst_grad
    print(json.dumps(result))
    sys.exit(0 if result["output"] <= 1e-4 and worst_grad <= 1e-4 else 1)


if __name__ == "__main__":
    main()
