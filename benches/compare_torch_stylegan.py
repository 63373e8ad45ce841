#!/usr/bin/env python3
"""Times a full-size StyleGAN2 (config F: 1024 px, 512-d z/w, 8 mapping layers, fp16 blocks and conv_clamp 256)
or StyleGAN3 (config T or R, 1024 px, as NVIDIA's released models) in interfacegan-rs (`interfacegan generate
--weights X.pkl`, the whole process) against the same network pickle in PyTorch CPU with NVIDIA's own code, in
one run, and prints images/s. `compare_all.py --nvlabs` uses `marginal_rates` (loading left out).

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


def pickled(nvlabs, arch, resolution, path):
    """Builds the network with NVIDIA's code and pickles it at `path` as a training snapshot."""
    G = nvidia_generator(nvlabs, arch, resolution)
    with open(path, "wb") as f:
        pickle.dump(dict(G=None, D=None, G_ema=G, augment_pipe=None, training_set_kwargs=None), f)
    return G


def torch_forward(G, z, batch, threads, device="cpu", fp32=True):
    """PyTorch's images and seconds for the official forward of `z` (constant noise; fp32, or on CUDA the
    fp16 blocks NVIDIA runs there with `fp32=False`), a warm-up batch excluded, synchronised on a GPU."""
    import torch
    torch.set_num_threads(threads)
    G = G.to(device)
    def run(codes):
        return G(torch.from_numpy(codes).to(device), None, noise_mode="const", force_fp32=fp32)
    with torch.no_grad():  # not set_grad_enabled: compare_all's inversion row needs gradients afterwards
        run(z[:batch])  # warm-up (and on CUDA, building NVIDIA's plugins)
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        images = [run(z[i:i + batch]) for i in range(0, len(z), batch)]
        if device != "cpu":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    return np.concatenate([i.float().cpu().numpy() for i in images]), seconds


def ours_cmd(binary, pkl, codes, batch, out, device="cpu"):
    """`interfacegan generate` of the codes file `codes`, raw images kept."""
    return [binary, "generate", "--weights", pkl, "-i", codes, "--batch", str(batch), "--raw", "--no-images",
            "-o", out, "--force", "--device", device]


def marginal_rates(nvlabs, arch, resolution, binary, images, batch, threads, work):
    """(ours, PyTorch's) images/s for `images` images: ours the whole process's marginal rate (`images`
    more over the time 2x`images` take beyond `images`, the faster of two runs each: loading, which moves
    by a second between runs, left out), PyTorch's the forward passes."""
    from compare_torch_dcgan import wall_time
    pkl = os.path.join(work, f"{arch}_{resolution}.pkl")
    G = pickled(nvlabs, arch, resolution, pkl)
    z = np.random.default_rng(0).standard_normal((2 * images, 512)).astype(np.float32)
    _, torch_s = torch_forward(G, z[:images], batch, threads)
    times = []
    for count in (images, 2 * images):
        codes = os.path.join(work, f"z{count}.npy")
        np.save(codes, z[:count])
        cmd = ours_cmd(binary, pkl, codes, batch, os.path.join(work, "ours"))
        times.append(min(wall_time(cmd, threads) for _ in range(2)))
    return images / (times[1] - times[0]), images / torch_s


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
    z = np.random.default_rng(0).standard_normal((args.images, 512)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        pkl = args.keep or os.path.join(tmp, "g.pkl")
        G = pickled(args.nvlabs, args.arch, args.resolution, pkl)
        np.save(os.path.join(tmp, "z.npy"), z)
        torch_images, torch_s = torch_forward(G, z, args.batch, args.threads)
        # Ours: the whole process, loading the pickle included.
        out = os.path.join(tmp, "ours")
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        t0 = time.perf_counter()
        proc = subprocess.run(ours_cmd(args.binary, pkl, os.path.join(tmp, "z.npy"), args.batch, out),
                              capture_output=True, text=True, env=env)
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
