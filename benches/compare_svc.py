#!/usr/bin/env python3
"""Times `interfacegan train-boundary` (the whole process) against the official classifier,
sklearn's SVC(kernel='linear'), fitted on the very same training rows, in one run.

    python3 benches/compare_svc.py --codes codes.npy --scores scores.npy [--chosen 0.02] \
        [--binary target/release/interfacegan] [--repeat 3]

Prints, and with --json writes, the wall and CPU seconds of both, their ratio, the cosine between
the two normals and both validation accuracies.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def run_ours(binary, codes, scores, chosen, split, seed, out, extra):
    cmd = [binary, "train-boundary", "-c", codes, "-s", scores, "-o", out, "-n", str(chosen), "-r", str(split),
           "--seed", str(seed), "--force", "--json"] + extra
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"interfacegan failed: {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(proc.stdout), wall, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--codes", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--chosen", type=float, default=0.02)
    p.add_argument("--split", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--binary", default="target/release/interfacegan")
    p.add_argument("--repeat", type=int, default=3, help="runs of ours (the best is kept)")
    p.add_argument("--no-sklearn", action="store_true", help="time ours only")
    p.add_argument("--label", default="")
    p.add_argument("--json", help="append the result as one JSON line to this file")
    p.add_argument("--save-sklearn", help="save sklearn's unit normal to this .npy (to check later solver changes)")
    p.add_argument("--sklearn-normal", help="compare with this saved sklearn normal instead of fitting SVC again")
    a = p.parse_args()

    out = tempfile.mkdtemp(prefix="igan-compare-")
    runs = [run_ours(a.binary, a.codes, a.scores, a.chosen, a.split, a.seed, out, []) for _ in range(a.repeat)]
    report, wall, cpu = min(runs, key=lambda r: r[1])
    ours = np.load(os.path.join(out, "boundary.npy")).astype(np.float64).ravel()
    train_idx = np.load(os.path.join(out, "train_indices.npy"))
    val_idx = np.load(os.path.join(out, "val_indices.npy"))
    result = {
        "label": a.label, "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"), "train_rows": int(len(train_idx)), "dim": int(report["dim"]),
        "ours_process_wall_s": round(wall, 4), "ours_process_cpu_s": round(cpu, 4),
        "ours_svm_s": round(report["svm"]["seconds"], 4), "ours_fit_s": round(report["seconds"], 4),
        "ours_val_accuracy": report["val_accuracy"], "ours_remaining_accuracy": report["remaining_accuracy"],
        "ours_support_vectors": report["svm"]["support_vectors"], "ours_rounds": report["svm"]["rounds"],
    }
    if a.sklearn_normal:
        w = np.load(a.sklearn_normal).astype(np.float64).ravel()
        result["cosine_to_saved_sklearn"] = float(ours @ w / np.linalg.norm(ours) / np.linalg.norm(w))
    elif not a.no_sklearn:
        from sklearn import __version__ as skv
        from sklearn.svm import SVC
        codes = np.load(a.codes, mmap_mode="r")
        x = np.asarray(codes[train_idx], dtype=np.float32)
        y = np.zeros(len(train_idx), dtype=int)
        y[: report["train_positives"]] = 1
        xv = np.asarray(codes[val_idx], dtype=np.float32)
        yv = np.zeros(len(val_idx), dtype=int)
        yv[: report["val_positives"]] = 1
        clf = SVC(kernel="linear")
        c0, t0 = time.process_time(), time.perf_counter()
        clf.fit(x, y)
        sk_wall, sk_cpu = time.perf_counter() - t0, time.process_time() - c0
        w = clf.coef_.ravel().astype(np.float64)
        w /= np.linalg.norm(w)
        if a.save_sklearn:
            np.save(a.save_sklearn, w[None, :])
        result.update({
            "sklearn": skv, "sklearn_fit_wall_s": round(sk_wall, 3), "sklearn_fit_cpu_s": round(sk_cpu, 3),
            "sklearn_val_accuracy": float(np.mean(clf.predict(xv) == yv)) if len(yv) else None,
            "cosine": float(ours @ w / np.linalg.norm(ours)),
            "ratio_cpu": round(sk_cpu / cpu, 2), "ratio_wall": round(sk_wall / wall, 2),
        })
    print(json.dumps(result, indent=1))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
