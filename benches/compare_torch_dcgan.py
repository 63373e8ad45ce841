#!/usr/bin/env python3
"""Times the embedded DCGAN in interfacegan-rs (`interfacegan generate`, the whole process, as its
marginal rate: N more images over the time 2N take beyond N, which leaves out the start-up) against the
same weights in PyTorch CPU (forward passes), in one run, at several batch sizes, and prints the ratio.

    python3 benches/compare_torch_dcgan.py [--binary target/release/interfacegan] [--images 256]
        [--threads 2] [--batches 1 16 64]

PyTorch is optional: without it only our figures are printed. The weights are
fixtures/models/dcgan_digiface.pth (PyPI gan-face-generate==1.1.1, byte for byte).
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wall_time(cmd, threads):
    """Seconds the whole process `cmd` takes."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"interfacegan failed: {proc.stderr}")
    return wall


def marginal_rate(cmd_for, images, threads):
    """Images per second of the whole process beyond its start-up: `images` more images over the time
    that running `2 images` takes beyond running `images` (`cmd_for(count)` is the command)."""
    return images / (wall_time(cmd_for(2 * images), threads) - wall_time(cmd_for(images), threads))


def ours(binary, images, batch, threads, device="cpu"):
    with tempfile.TemporaryDirectory() as out:
        def cmd_for(count):
            return [binary, "generate", "-n", str(count), "--batch", str(batch), "--no-images", "-o", out, "--force",
                    "--device", device]
        return marginal_rate(cmd_for, images, threads)


def torch_rate(images, batch, threads, device="cpu"):
    """PyTorch's forward passes of the same DCGAN (img/s); on a GPU after a warm-up batch, synchronised."""
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        return None
    torch.set_num_threads(threads)
    state = torch.load(os.path.join(ROOT, "fixtures/models/dcgan_digiface.pth"), map_location="cpu")["netG_state_dict"]
    layers = []
    widths = [100, 512, 256, 128, 64, 3]
    for i in range(5):
        stride, pad = (1, 0) if i == 0 else (2, 1)
        layers.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, stride, pad, bias=False))
        layers += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU(True)] if i < 4 else [nn.Tanh()]
    net = nn.Sequential(*layers).eval()
    net.load_state_dict({k.replace("main.", ""): v for k, v in state.items()}, strict=True)
    net = net.to(device)
    with torch.no_grad():
        if device != "cpu":
            net(torch.randn(batch, 100, 1, 1, device=device))
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        done = 0
        while done < images:
            n = min(batch, images - done)
            net(torch.randn(n, 100, 1, 1, device=device))
            done += n
        if device != "cpu":
            torch.cuda.synchronize()
    return images / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    a = p.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {a.threads} threads, "
          f"{a.images} images, {time.strftime('%Y-%m-%d')}")
    print("batch | interfacegan generate (img/s, marginal rate of the whole process) | PyTorch CPU forward (img/s) | ratio")
    for batch in a.batches:
        r = ours(a.binary, a.images, batch, a.threads)
        t = torch_rate(a.images, batch, a.threads)
        ratio = f"{r / t:.2f}x" if t else "-"
        print(f"{batch} | {r:.1f} | {t:.1f} | {ratio}" if t else f"{batch} | {r:.1f} | not installed | -")


if __name__ == "__main__":
    main()
