#!/usr/bin/env python3
"""Times a full-size StyleGAN2 (config F: 1024 px, 512-d z/w, 8 mapping layers, fp16 blocks and conv_clamp 256)
or StyleGAN3 (config T or R, 1024 px, as NVIDIA's released models) in interfacegan-rs (`interfacegan generate
--weights X.pkl`, the whole process) against the same network pickle in PyTorch CPU with NVIDIA's own code, in
one run, and prints images/s.

    python3 benches/compare_torch_stylegan.py --nvlabs NVLABS_DIR [--arch stylegan2|stylegan3-t|stylegan3-r]
        [--binary target/release/interfacegan] [--images 4] [--batch 1] [--threads 2] [--resolution 1024]
        [--keep model.pkl]

NVLABS_DIR is a checkout of NVlabs/stylegan3 (c233a91 was used). The network gets NVIDIA's own random
initialisation; both sides synthesise the same z with psi 1 and constant noise, and the script checks that their
images agree (largest |difference| printed). PyTorch runs the official reference ops on the CPU (fp32).
"""
import argparse
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
import types

import numpy as np


def nvidia_generator(nvlabs, arch, resolution):
    sys.path.insert(0, nvlabs)
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import packaging.version
        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=packaging.version.parse)
    import torch
    from training import networks_stylegan2, networks_stylegan3
    torch.manual_seed(0)
    common = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3)
    if arch == "stylegan2":  # train.py --cfg=stylegan2
        return networks_stylegan2.Generator(**common, mapping_kwargs=dict(num_layers=8), channel_base=32768,
                                            channel_max=512, num_fp16_res=4, conv_clamp=256).eval()
    if arch == "stylegan3-t":  # train.py --cfg=stylegan3-t
        return networks_stylegan3.Generator(**common, mapping_kwargs=dict(num_layers=2), channel_base=32768,
                                            channel_max=512, magnitude_ema_beta=0.999).eval()
    # train.py --cfg=stylegan3-r
    return networks_stylegan3.Generator(**common, mapping_kwargs=dict(num_layers=2), channel_base=65536,
                                        channel_max=1024, magnitude_ema_beta=0.999, conv_kernel=1,
                                        use_radial_filters=True).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvlabs", required=True)
    ap.add_argument("--arch", default="stylegan2", choices=["stylegan2", "stylegan3-t", "stylegan3-r"])
    ap.add_argument("--binary", default="target/release/interfacegan")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resolution", type=int, default=1024)
    ap.add_argument("--keep")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    G = nvidia_generator(args.nvlabs, args.arch, args.resolution)
    z = np.random.default_rng(0).standard_normal((args.images, 512)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        pkl = args.keep or os.path.join(tmp, "g.pkl")
        with open(pkl, "wb") as f:
            pickle.dump(dict(G=None, D=None, G_ema=G, augment_pipe=None, training_set_kwargs=None), f)
        np.save(os.path.join(tmp, "z.npy"), z)
        # PyTorch: the official forward, warm-up batch excluded.
        G(torch.from_numpy(z[: args.batch]), None, noise_mode="const", force_fp32=True)  # warm-up
        t0 = time.perf_counter()
        torch_images = [G(torch.from_numpy(z[i:i + args.batch]), None, noise_mode="const", force_fp32=True).numpy()
                        for i in range(0, args.images, args.batch)]
        torch_s = time.perf_counter() - t0
        torch_images = np.concatenate(torch_images)
        # Ours: the whole process, loading the pickle included.
        out = os.path.join(tmp, "ours")
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        cmd = [args.binary, "generate", "--weights", pkl, "-i", os.path.join(tmp, "z.npy"), "--batch",
               str(args.batch), "--raw", "--no-images", "-o", out]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        ours_s = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"interfacegan failed: {proc.stderr}")
        ours_images = np.load(os.path.join(out, "images.npy"))
        diff = float(np.abs(ours_images - torch_images).max())
        largest = float(np.abs(torch_images).max())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, threads {args.threads}; "
          f"torch {torch.__version__}")
    print(f"{args.arch} {args.resolution} px, {args.images} images, batch {args.batch}")
    print(f"PyTorch (NVIDIA code, forward only): {torch_s:.2f} s = {args.images / torch_s:.3f} images/s")
    print(f"interfacegan generate (whole process, pickle load included): {ours_s:.2f} s = "
          f"{args.images / ours_s:.3f} images/s; {proc.stdout.strip()}")
    print(f"largest |difference| {diff:.2e} (largest |pixel| {largest:.2f})")


if __name__ == "__main__":
    main()
