#!/usr/bin/env python3
"""Times the built-in scorers of interfacegan-rs (`interfacegan score --images`, the whole process,
per-scorer rates as it reports them, on our CPU engine and on burn's operators) against onnxruntime running the same ONNX files on the same
images, in one run.

    python3 benches/compare_ort_scorers.py [--binary target/release/interfacegan] [--images 512] [--threads 2]

Makes the images with `interfacegan generate`. onnxruntime is optional (`pip install onnxruntime pillow numpy`);
without it only our figures are printed. The ORT side uses the reference preprocessing (Pillow BILINEAR,
'L' luma) and batch 64, like ours.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINES = ["cpu", "burn"]
MODELS = {"gender": "gender-v1.onnx", "age": "age-v1.onnx", "smile": "emotion_mini_xception.onnx"}


def preprocess(name, batch):
    """A scorer's input `[N, C, H, W]` from decoded RGB images (Pillow), as the reference does."""
    import numpy as np
    from PIL import Image
    if name == "smile":
        return np.stack([(np.asarray(im.convert("L"), dtype=np.float32) / 255 - 0.5) * 2 for im in batch])[:, None]
    mean = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
    size = 32 if name == "gender" else 64
    arr = [np.asarray(im.resize((size, size), Image.BILINEAR) if im.size != (size, size) else im, dtype=np.float32)
           for im in batch]
    return ((np.stack(arr) - mean) / 256).transpose(0, 3, 1, 2).copy()


def ort_rates(files, threads):
    try:
        import onnxruntime as ort
        from PIL import Image
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    images = [Image.open(f).convert("RGB") for f in files]
    rates = {}
    for name, model in MODELS.items():
        s = ort.InferenceSession(os.path.join(ROOT, "fixtures/models", model), opts, providers=["CPUExecutionProvider"])
        t0 = time.perf_counter()
        for i in range(0, len(images), 64):
            s.run(None, {s.get_inputs()[0].name: preprocess(name, images[i:i + 64])})
        rates[name] = len(images) / (time.perf_counter() - t0)
    return rates


def rates(binary, images_dir, threads):
    """{scorer: (ours on the CPU engine, onnxruntime or None)} on the PNG files of `images_dir`."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as out:
        ours = engine_rates(binary, images_dir, out, "cpu", env)
    files = sorted(os.path.join(images_dir, f) for f in os.listdir(images_dir) if f.endswith(".png"))
    theirs = ort_rates(files, threads) or {}
    return {name: (ours[name], theirs.get(name)) for name in MODELS}


def engine_rates(binary, images_dir, out, engine, env, device="cpu"):
    """Our per-scorer rates (img/s) as `interfacegan score` reports them, on `engine` and `device`."""
    proc = subprocess.run([binary, "score", "--images", images_dir, "-o", out, "--batch", "64", "--force",
                           "--scorer-engine", engine, "--device", device], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(gender|age|smile) ([0-9.]+)/s", proc.stdout)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    with tempfile.TemporaryDirectory() as work:
        gen, out = os.path.join(work, "gen"), os.path.join(work, "scores")
        subprocess.run([a.binary, "generate", "-n", str(a.images), "--batch", "64", "-o", gen], check=True,
                       capture_output=True, env=env)
        ours = {engine: engine_rates(a.binary, gen, out, engine, env) for engine in ENGINES}
        files = sorted(os.path.join(gen, f) for f in os.listdir(gen) if f.endswith(".png"))
        theirs = ort_rates(files, a.threads)
    print(f"# {a.images} DCGAN faces, batch 64, {a.threads} threads, {time.strftime('%Y-%m-%d')}")
    print("scorer | ours, CPU engine (img/s) | ours, burn (img/s) | onnxruntime (img/s) | CPU engine / onnxruntime")
    for name in MODELS:
        t = theirs.get(name) if theirs else None
        cpu, burn = ours["cpu"][name], ours["burn"][name]
        print(f"{name} | {cpu:.1f} | {burn:.1f} | " + (f"{t:.1f} | {cpu / t:.2f}x" if t else "not installed | -"))


if __name__ == "__main__":
    main()
