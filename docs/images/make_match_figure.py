#!/usr/bin/env python3
"""Re-makes docs/images/smile_boundary_vs_sefa.jpg from a run of `interfacegan demo --unsupervised sefa`.

    cargo build --release -p interfacegan-cli
    target/release/interfacegan demo -n 20000 --unsupervised sefa --unsupervised-k 10 -o RUN
    python3 docs/images/make_match_figure.py RUN

Lays the run's two smile strips (edits/match/smile_boundary.png and the SeFa direction shown for smile,
edits/match/smile_*sefa_*.png) side by side, the first three codes of each, with a white gap. Needs Pillow.
"""
import glob
import os
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
run = sys.argv[1]
boundary = Image.open(os.path.join(run, "edits", "match", "smile_boundary.png"))
(candidate_path,) = glob.glob(os.path.join(run, "edits", "match", "smile_*sefa_*.png"))
candidate = Image.open(candidate_path)
rows = 3
row_height = boundary.height // 5  # the demo's strips hold 5 codes
crop = lambda im: im.crop((0, 0, im.width, rows * row_height))
gap = 12
out = Image.new("RGB", (boundary.width + gap + candidate.width, rows * row_height), "white")
out.paste(crop(boundary), (0, 0))
out.paste(crop(candidate), (boundary.width + gap, 0))
target = os.path.join(ROOT, "docs", "images", "smile_boundary_vs_sefa.jpg")
out.save(target, quality=90)
print(target, os.path.basename(candidate_path), out.size)
