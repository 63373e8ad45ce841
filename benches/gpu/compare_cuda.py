#!/usr/bin/env python3
"""Issue 22's GPU rows in one command: interfacegan-rs on wgpu (a prebuilt release binary with the `wgpu`
feature) against PyTorch CUDA on the same machine, the same weights and the same inputs, in one run.

    python3 benches/gpu/compare_cuda.py --binary BIN --nvlabs DIR --interfacegan-repo DIR [--out FILE]
        [--torch-device cuda] [--our-device wgpu] [--scale 1.0] [--threads N]

Rows (ours: the whole process's marginal rate or the rates it reports; PyTorch's: forward passes after a
warm-up batch, synchronised):
- the embedded DCGAN, batch 64 (`compare_torch_dcgan.py`);
- the three scorers on the same PNG faces (`score --images`) against their ONNX graphs run by PyTorch operators
  (`onnx_torch.py`; onnxruntime has no CUDA provider there), the reference preprocessing inside the clock;
- generate-and-score (`score --codes`): our generation and scoring rates in one run, to see which is the
  bottleneck on the GPU;
- InterFaceGAN's official StyleGAN 256, batch 4 (genforce/interfacegan's code and random weights, DIR of
  --interfacegan-repo);
- StyleGAN2 config F 1024, batch 4 (NVIDIA's code and random weights, DIR of --nvlabs): PyTorch in fp32 and with
  the fp16 blocks NVIDIA runs on CUDA, and the largest difference of our images from its fp32 ones.

--scale multiplies every image count (0.02 with `--torch-device cpu --our-device cpu` is a dry run of the
script on a machine without a GPU). Needs torch, numpy, pillow, onnx (and scipy for NVIDIA's code).
Figures go to docs/benchmarks.md with the machine and the date.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare_official_generators as official  # noqa: E402
import compare_ort_scorers as scorers  # noqa: E402
import compare_torch_dcgan as dcgan  # noqa: E402
import compare_torch_stylegan as nvidia  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))


def count(a, images, batch):
    """`images` scaled, a whole number of batches, at least one."""
    return max(batch, int(images * a.scale) // batch * batch)


def scorer_rows(a, env, work):
    """Our per-scorer rates on the same faces against the ONNX graphs in PyTorch, and generate-and-score."""
    import torch
    from PIL import Image
    from onnx_torch import TorchGraph
    faces = os.path.join(work, "faces")
    n = count(a, 2048, 64)
    subprocess.run([a.binary, "generate", "-n", str(n), "--batch", "64", "-o", faces, "--device", a.our_device],
                   check=True, capture_output=True, env=env)
    ours = scorers.engine_rates(a.binary, faces, os.path.join(work, "scores"), "cpu", env, a.our_device)
    images = [Image.open(os.path.join(faces, f)).convert("RGB") for f in sorted(os.listdir(faces))
              if f.endswith(".png")]
    rows = []
    for name, model in scorers.MODELS.items():
        graph = TorchGraph(os.path.join(ROOT, "fixtures/models", model), a.torch_device)
        with torch.no_grad():
            graph(torch.from_numpy(scorers.preprocess(name, images[:64])).to(a.torch_device))
            sync(a)
            t0 = time.perf_counter()
            for i in range(0, len(images), 64):
                graph(torch.from_numpy(scorers.preprocess(name, images[i:i + 64])).to(a.torch_device)).cpu()
            theirs = len(images) / (time.perf_counter() - t0)
        rows.append((f"score --images, {name} ({len(images)} faces)", ours[name], theirs))
    codes = os.path.join(faces, "z.npy")
    proc = subprocess.run([a.binary, "score", "--codes", codes, "-o", os.path.join(work, "both"), "--batch", "64",
                           "--device", a.our_device, "--force"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    rows.append((f"generate and score ({n} codes): {proc.stdout.strip().split(' -> ')[0]}", None, None))
    return rows


def sync(a):
    if a.torch_device != "cpu":
        import torch
        torch.cuda.synchronize()


def stylegan2_rows(a, env, work):
    """Config F 1024 at batch 4: ours against PyTorch fp32 and fp16 blocks; our images against fp32's."""
    import numpy as np
    pkl = os.path.join(work, "stylegan2f.pkl")
    G = nvidia.pickled(a.nvlabs, "stylegan2", 1024, pkl)
    n = count(a, 32, 4)
    z = np.random.default_rng(0).standard_normal((2 * n, 512)).astype(np.float32)
    fp32_images, fp32_s = nvidia.torch_forward(G, z[:n], 4, a.threads, a.torch_device, fp32=True)
    rates = {"fp32": n / fp32_s}
    if a.torch_device != "cpu":
        _, fp16_s = nvidia.torch_forward(G, z[:n], 4, a.threads, a.torch_device, fp32=False)
        rates["fp16 blocks"] = n / fp16_s
    times = []
    for images in (n, 2 * n):
        codes = os.path.join(work, f"z{images}.npy")
        np.save(codes, z[:images])
        out = os.path.join(work, f"ours{images}")
        cmd = nvidia.ours_cmd(a.binary, pkl, codes, 4, out, a.our_device)
        times.append(min(dcgan.wall_time(cmd, a.threads) for _ in range(2)))  # loading moves by a second
    ours = n / (times[1] - times[0])
    diff = float(np.abs(np.load(os.path.join(work, f"ours{n}", "images.npy")) - fp32_images).max())
    label = f"StyleGAN2 config F 1024, batch 4 (images within {diff:.1e} of PyTorch fp32's, largest pixel " \
            f"{float(np.abs(fp32_images).max()):.2f})"
    return [(f"{label}, PyTorch {mode}", ours, rate) for mode, rate in rates.items()]


def generator_rows(a, work):
    """The DCGAN and the official StyleGAN 256."""
    import torch
    rows = []
    n = count(a, 4096, 64)
    rows.append(("DCGAN generate, batch 64", dcgan.ours(a.binary, n, 64, a.threads, a.our_device),
                 dcgan.torch_rate(n, 64, a.threads, a.torch_device)))
    model = official.official_model(a.interfacegan_repo, "stylegan", 256)
    weights = os.path.join(work, "stylegan256.pth")
    torch.save(model.state_dict(), weights)
    n = count(a, 64, 4)
    rows.append(("official StyleGAN 256, batch 4", official.ours(a.binary, weights, "stylegan", n, 4, a.threads,
                                                                 a.our_device),
                 official.theirs(model, n, 4, a.threads, a.torch_device)))
    return rows


def machine(a):
    import torch
    if a.torch_device == "cpu":
        return f"{platform.machine()}, {os.cpu_count()} cores (CPU dry run)"
    return f"{torch.cuda.get_device_name()}, {os.cpu_count()} cores, torch {torch.__version__}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="a release build with the `wgpu` feature")
    p.add_argument("--nvlabs", required=True, help="a checkout of github.com/NVlabs/stylegan3")
    p.add_argument("--interfacegan-repo", required=True, help="a checkout of github.com/genforce/interfacegan")
    p.add_argument("--torch-device", default="cuda")
    p.add_argument("--our-device", default="wgpu")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--out", help="also write the table to this file")
    a = p.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        rows = generator_rows(a, work) + scorer_rows(a, env, work) + stylegan2_rows(a, env, work)
    lines = [f"# {machine(a)}; ours --device {a.our_device}, PyTorch {a.torch_device}; {time.strftime('%Y-%m-%d')}; "
             f"{time.perf_counter() - started:.0f} s", "| row | interfacegan-rs (img/s) | PyTorch (img/s) | ratio |",
             "|---|---|---|---|"]
    for label, ours, theirs in rows:
        if ours is None:
            lines.append(f"| {label} | | | |")
        else:
            lines.append(f"| {label} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x |")
    print("\n".join(lines))
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
