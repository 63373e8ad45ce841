#!/usr/bin/env python3
"""Times the inversion loop of interfacegan-rs (`interfacegan invert`, the whole process, random
start) against the same loop in PyTorch CPU (same DCGAN weights, loss, Adam and schedule), in one
run, at batch 1 and 16, and prints steps per second and the ratio.

    python3 benches/compare_torch_inversion.py [--binary target/release/interfacegan] [--steps 100]
        [--threads 2] [--batches 1 16]

The targets are faces the DCGAN draws (`interfacegan generate`), so both sides invert the same
images. PyTorch is optional: without it only our figures are printed.
"""
import argparse
import glob
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr}")


def ours(binary, photos, steps, batch, threads, out):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    cmd = [binary, "invert", *photos, "-o", out, "--steps", str(steps), "--init", "random",
           "--inversion-batch", str(batch), "--force"]
    t0 = time.perf_counter()
    run(cmd, env)
    return steps * len(photos) / batch / (time.perf_counter() - t0)


def torch_rate(photos, steps, batch, threads):
    try:
        import numpy as np
        import torch
        from PIL import Image
        from torch import nn
    except ImportError:
        return None
    torch.set_num_threads(threads)

    def block(cin, cout, stride, pad, last=False):
        layers = [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False)]
        return layers + ([nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(True)])

    g = nn.Module()
    g.main = nn.Sequential(*block(100, 512, 1, 0), *block(512, 256, 2, 1), *block(256, 128, 2, 1),
                           *block(128, 64, 2, 1), *block(64, 3, 2, 1, last=True))
    state = torch.load(os.path.join(ROOT, "fixtures/models/dcgan_digiface.pth"), map_location="cpu",
                       weights_only=True)["netG_state_dict"]
    g.load_state_dict(state)
    g.eval().requires_grad_(False)
    t0 = time.perf_counter()
    for first in range(0, len(photos), batch):
        x = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in photos[first:first + batch]])
        x = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0)
        z = torch.randn(len(x), 100, requires_grad=True)
        adam = torch.optim.Adam([z], lr=0.05)
        for step in range(steps):
            t = step / steps
            ramp = min(1.0, (1.0 - t) / 0.25)
            lr = 0.05 * (0.5 - 0.5 * np.cos(ramp * np.pi)) * min(1.0, (step + 1) / (0.05 * steps))
            for group in adam.param_groups:
                group["lr"] = lr
            adam.zero_grad()
            per_image = ((g.main(z[:, :, None, None]) - x) ** 2).flatten(1).mean(1) + 1e-4 * (z ** 2).mean(1)
            per_image.sum().backward()
            adam.step()
    return steps * len(photos) / batch / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        faces = os.path.join(tmp, "faces")
        run([args.binary, "generate", "-n", str(max(args.batches)), "-o", faces, "--seed", "11"], dict(os.environ))
        photos = sorted(glob.glob(os.path.join(faces, "*.png")))
        print(f"{'batch':>5} {'ours steps/s':>13} {'torch steps/s':>14} {'ours/torch':>11}")
        for batch in args.batches:
            mine = ours(args.binary, photos[:batch], args.steps, batch, args.threads, os.path.join(tmp, "out"))
            theirs = torch_rate(photos[:batch], args.steps, batch, args.threads)
            ratio = f"{mine / theirs:.2f}" if theirs else "-"
            print(f"{batch:>5} {mine:>13.1f} {(f'{theirs:.1f}' if theirs else '-'):>14} {ratio:>11}")


if __name__ == "__main__":
    main()
