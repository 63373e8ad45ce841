#!/usr/bin/env python3
"""Every row of the CPU performance table in one run (docs/benchmarks.md, "The main job against the Python
stack"): the embedded DCGAN against PyTorch, the official PGGAN and StyleGAN against genforce/interfacegan's
PyTorch models, the three scorers against onnxruntime, and inversion against PyTorch; prints one table with the
ratios. Each row is the script named beside it, run the same way (see each for what is timed).

    python3 benches/compare_all.py [--binary target/release/interfacegan] [--threads 2]
        [--interfacegan-repo DIR] [--nvlabs DIR] [--rounds 3]

Without --interfacegan-repo (a checkout of github.com/genforce/interfacegan) the official rows are left out,
without --nvlabs (a checkout of github.com/NVlabs/stylegan3) the StyleGAN2 and StyleGAN3 rows
(`compare_torch_stylegan.py`: NVIDIA's configurations with its random weights, marginal rates).
Needs torch, onnxruntime, pillow and numpy. With --rounds R every row is measured R times, interleaved (rows in
turn, then again), and the median is printed: single runs on a shared machine move by tens of per cent.
"""
import argparse
import glob
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_official_generators as official  # noqa: E402
import compare_ort_scorers as scorers  # noqa: E402
import compare_torch_dcgan as dcgan  # noqa: E402
import compare_torch_inversion as inversion  # noqa: E402
import compare_torch_stylegan as nvidia  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rows(a, work):
    """(label, script, measure) per row; measure() gives (ours, reference)."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    faces = os.path.join(work, "faces")
    subprocess.run([a.binary, "generate", "-n", "512", "--batch", "64", "-o", faces], check=True,
                   capture_output=True, env=env)
    photos = sorted(glob.glob(os.path.join(faces, "*.png")))
    table = [(f"DCGAN generate, batch {b}", "compare_torch_dcgan.py",
              lambda b=b: (dcgan.ours(a.binary, 512, b, a.threads), dcgan.torch_rate(512, b, a.threads)))
             for b in (16, 64)]
    if a.interfacegan_repo:
        for arch in official.ROWS:
            def measure(arch=arch):
                _, r, t = official.compare(a.interfacegan_repo, a.binary, arch, 8, a.threads, work)
                return r, t
            table.append((f"official {arch} {official.ROWS[arch][0]}, batch {official.ROWS[arch][1]}",
                          "compare_official_generators.py", measure))
    if a.nvlabs:
        for arch, label, resolution, images in (("stylegan2", "StyleGAN2 config F", 1024, 3),
                                                ("stylegan3-t", "StyleGAN3-T", 256, 1)):
            table.append((f"{label} {resolution}, batch 1", "compare_torch_stylegan.py",
                          lambda arch=arch, r=resolution, i=images: nvidia.marginal_rates(
                              a.nvlabs, arch, r, a.binary, i, 1, a.threads, work)))
    score_rates = {}

    def scorer(name):
        def measure():
            if name == "gender" or not score_rates:
                score_rates.clear()
                score_rates.update(scorers.rates(a.binary, faces, a.threads))
            ours, theirs = score_rates[name]
            return ours, theirs
        return measure
    table += [(f"score --images, {name}", "compare_ort_scorers.py", scorer(name)) for name in scorers.MODELS]
    table.append(("inversion, batch 16 (steps/s)", "compare_torch_inversion.py",
                  lambda: (inversion.ours(a.binary, photos[:16], 50, 16, a.threads, os.path.join(work, "inv")),
                           inversion.torch_rate(photos[:16], 50, 16, a.threads))))
    return table


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--interfacegan-repo")
    p.add_argument("--nvlabs")
    p.add_argument("--rounds", type=int, default=1)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        table = rows(a, work)
        results = {label: [] for label, _, _ in table}
        for _ in range(a.rounds):
            for label, _, measure in table:
                results[label].append(measure())
    print(f"# {platform.machine()}, {os.cpu_count()} cores, {a.threads} threads, {time.strftime('%Y-%m-%d')}, "
          f"median of {a.rounds} interleaved round(s)")
    print("row | interfacegan-rs | reference | ratio | script")
    for label, script, _ in table:
        ours = statistics.median(r for r, _ in results[label])
        refs = [t for _, t in results[label] if t]
        if refs:
            ref = statistics.median(refs)
            print(f"{label} | {ours:.2f} | {ref:.2f} | {ours / ref:.2f}x | {script}")
        else:
            print(f"{label} | {ours:.2f} | not installed | - | {script}")


if __name__ == "__main__":
    main()
