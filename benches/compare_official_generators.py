#!/usr/bin/env python3
"""Times InterFaceGAN's official generators (genforce/interfacegan's PyTorch models, random weights made by that
code) in PyTorch CPU and as `interfacegan generate --weights` on the same state dict, in one run, and prints the
ratio: PGGAN 1024 at batch 2 and StyleGAN 256 at batch 4 (the issue's rows).

    python3 benches/compare_official_generators.py --interfacegan-repo DIR [--binary target/release/interfacegan]
        [--images 8] [--threads 2] [--only pggan|stylegan]

DIR is a checkout of github.com/genforce/interfacegan (commit 8da3fc0 was used). Needs torch and numpy. Our side is
the whole process's marginal rate (N more images over the time 2N take beyond N: loading left out), theirs the
forward passes after one warm-up batch.
"""
import argparse
import os
import platform
import sys
import tempfile
import time

from compare_torch_dcgan import marginal_rate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = {"pggan": (1024, 2), "stylegan": (256, 4)}


def official_model(repo, arch, resolution):
    """The official model with the random weights its constructor draws (seeded)."""
    import torch
    sys.path.insert(0, repo)
    torch.manual_seed(0)
    if arch == "pggan":
        from models.pggan_generator_model import PGGANGeneratorModel
        return PGGANGeneratorModel(resolution=resolution, fused_scale=False, output_channels=3).eval()
    from models.stylegan_generator_model import StyleGANGeneratorModel
    return StyleGANGeneratorModel(resolution=resolution).eval()


def theirs(model, images, batch, threads, device="cpu"):
    """The forward passes (img/s) after a warm-up batch; synchronised on a GPU."""
    import torch
    torch.set_num_threads(threads)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    model = model.to(device)
    with torch.no_grad():
        model(torch.randn(batch, 512, device=device))
        sync()
        t0 = time.perf_counter()
        for _ in range(images // batch):
            model(torch.randn(batch, 512, device=device))
        sync()
        return (images // batch * batch) / (time.perf_counter() - t0)


def ours(binary, weights, arch, images, batch, threads, device="cpu"):
    with tempfile.TemporaryDirectory() as out:
        def cmd_for(count):
            return [binary, "generate", "--weights", weights, "--arch", arch, "-n", str(count), "--batch",
                    str(batch), "--no-images", "-o", out, "--force", "--device", device]
        return marginal_rate(cmd_for, images, threads)


def compare(repo, binary, arch, images, threads, work):
    """(label, ours img/s, theirs img/s) for one row."""
    import torch
    resolution, batch = ROWS[arch]
    model = official_model(repo, arch, resolution)
    weights = os.path.join(work, f"{arch}{resolution}.pth")
    torch.save(model.state_dict(), weights)
    label = f"official {arch.upper() if arch == 'pggan' else 'StyleGAN'} {resolution}, batch {batch}"
    return label, ours(binary, weights, arch, images, batch, threads), theirs(model, images, batch, threads)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interfacegan-repo", required=True)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", choices=sorted(ROWS))
    a = p.parse_args()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, {a.threads} threads, {a.images} images, "
          f"{time.strftime('%Y-%m-%d')}")
    print("generator | interfacegan generate (img/s, marginal rate of the whole process) | PyTorch CPU (img/s) | ratio")
    with tempfile.TemporaryDirectory() as work:
        for arch in [a.only] if a.only else ROWS:
            label, r, t = compare(a.interfacegan_repo, a.binary, arch, a.images, a.threads, work)
            print(f"{label} | {r:.2f} | {t:.2f} | {r / t:.2f}x")


if __name__ == "__main__":
    main()
