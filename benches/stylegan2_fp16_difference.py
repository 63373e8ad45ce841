#!/usr/bin/env python3
"""How far StyleGAN2's fp16 blocks (what NVIDIA's code runs on CUDA for the `num_fp16_res` highest resolutions)
move the images from the fp32 path that interfacegan-rs and NVIDIA's code off CUDA run.

    python3 benches/stylegan2_fp16_difference.py --nvlabs NVLABS_DIR --pickle model.pkl [--images 2]

NVIDIA's `SynthesisBlock.forward` forces fp32 whenever the device is not CUDA. This script loads the pickle's
`G_ema` weights into a copy of `networks_stylegan2.Generator` (from NVLABS_DIR, a checkout of NVlabs/stylegan3)
whose only change is that this one line is skipped, so the fp16 blocks run in PyTorch's CPU half precision, a
stand-in for CUDA's fp16 (the rounding of the activations and weights is the same; accumulation may differ). The
pickle's embedded source is not used for the network (the copy is), only its tensors and constructor arguments.
"""
import argparse
import os
import pickle
import shutil
import sys
import tempfile
import types

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvlabs", required=True)
    ap.add_argument("--pickle", required=True)
    ap.add_argument("--images", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for part in ("training", "torch_utils", "dnnlib"):
            shutil.copytree(os.path.join(args.nvlabs, part), os.path.join(tmp, part))
        path = os.path.join(tmp, "training", "networks_stylegan2.py")
        source = open(path).read()
        gate = "        if ws.device.type != 'cuda':\n            force_fp32 = True\n"
        assert source.count(gate) == 1, "the fp32 gate of SynthesisBlock.forward was not found"
        open(path, "w").write(source.replace(gate, ""))
        sys.path.insert(0, tmp)
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            import packaging.version
            sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=packaging.version.parse)
        import torch
        from training import networks_stylegan2
        torch.set_grad_enabled(False)
        src = pickle.load(open(args.pickle, "rb"))["G_ema"]
        G = networks_stylegan2.Generator(*src.init_args, **src.init_kwargs).eval()
        G.load_state_dict(src.state_dict())
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((args.images, G.z_dim)).astype(np.float32))
    ws = G.mapping(z, None)
    fp32 = G.synthesis(ws, noise_mode="const", force_fp32=True)
    fp16 = G.synthesis(ws, noise_mode="const", force_fp32=False)
    blocks = [r for r in G.synthesis.block_resolutions if getattr(G.synthesis, f"b{r}").use_fp16]
    d = (fp32 - fp16).abs()
    to_u8 = lambda x: (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).int()
    u8 = (to_u8(fp32) - to_u8(fp16)).abs()
    print(f"fp16 blocks {blocks}; {args.images} images")
    print(f"raw: max |fp32 - fp16| {d.max().item():.3g}, mean {d.mean().item():.3g}, "
          f"largest |pixel| {fp32.abs().max().item():.3g}")
    print(f"uint8: {100 * (u8 > 0).float().mean().item():.2f} % of values differ, by at most {u8.max().item()}")


if __name__ == "__main__":
    main()
