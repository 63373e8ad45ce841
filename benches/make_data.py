#!/usr/bin/env python3
"""Synthetic InterFaceGAN-like data: codes z ~ N(0, I) and scores = z . u + noise * e.

The two regimes of docs/benchmarks.md (500,000 codes in R^512, top/bottom 2 %):
  separable: --noise 1.0            (validation accuracy about 0.976)
  noisy:     --noise 1.7 --seed 1   (validation accuracy about 0.905)
Writes CODES.npy [N, D] float32 and SCORES.npy [N, 1] float32, in chunks (bounded memory).
"""
import argparse

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num", type=int, default=500_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--noise", type=float, required=True, help="noise sd relative to the signal sd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--codes", required=True)
    p.add_argument("--scores", required=True)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    u = rng.standard_normal(a.dim)
    u /= np.linalg.norm(u)
    codes = np.lib.format.open_memmap(a.codes, mode="w+", dtype=np.float32, shape=(a.num, a.dim))
    scores = np.empty((a.num, 1), dtype=np.float32)
    chunk = 50_000
    for s in range(0, a.num, chunk):
        e = min(s + chunk, a.num)
        z = rng.standard_normal((e - s, a.dim), dtype=np.float32)
        codes[s:e] = z
        scores[s:e, 0] = z.astype(np.float64) @ u + a.noise * rng.standard_normal(e - s)
    codes.flush()
    del codes
    np.save(a.scores, scores)


if __name__ == "__main__":
    main()
