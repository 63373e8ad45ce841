#!/usr/bin/env python3
"""Re-makes docs/images/real_photo_smile.png and prints the scores quoted in the README and docs/inversion.md.

    cargo build --release -p interfacegan-cli
    python3 docs/images/make_real_photo_grid.py [--binary target/release/interfacegan] [--work target/real-photo]

Runs `interfacegan demo` (defaults; about 6 minutes on two cores, skipped when --work already holds it) for the
DCGAN's smile-without-gender boundary, then `interfacegan edit --image` on fixtures/photos/astronaut_face.png
twice (the default prior 0.1, and 1e-4 as `invert` uses), re-scores every edit, and lays out the grid: per row
the photo, then distances -3 .. 3 (the middle one, 0, is the reconstruction). Needs Pillow and numpy.
"""
import argparse
import os
import subprocess

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/interfacegan"))
    parser.add_argument("--work", default=os.path.join(ROOT, "target/real-photo"))
    args = parser.parse_args()
    demo = os.path.join(args.work, "demo")
    boundary = os.path.join(demo, "smile_without_gender_boundary.npy")
    if not os.path.exists(boundary):
        subprocess.run([args.binary, "demo", "-o", demo], check=True)
    photo = os.path.join(ROOT, "fixtures/photos/astronaut_face.png")
    rows = []
    for name, extra in [("prior 0.1 (edit's default)", []), ("prior 1e-4 (invert's default)", ["--prior-weight", "1e-4"])]:
        out = os.path.join(args.work, "edit_" + ("default" if not extra else "fidelity"))
        subprocess.run([args.binary, "edit", "--image", photo, "-b", boundary, "--steps", "7", "-o", out, "--force", *extra],
                       check=True)
        scores = os.path.join(out, "scores")
        subprocess.run([args.binary, "score", "--attributes", "gender,smile", "--images", out, "-o", scores, "--force"],
                       check=True, capture_output=True)
        print(name)
        for attribute in ["smile", "gender"]:
            values = np.load(os.path.join(scores, f"{attribute}_scores.npy")).ravel()
            print(f"  {attribute:>6}: " + " ".join(f"{v:.3f}" for v in values))
        rows.append([Image.open(os.path.join(out, f"000_{i:03d}.png")).convert("RGB") for i in range(7)])
    target = Image.open(photo).convert("RGB").resize((64, 64), Image.BILINEAR)
    cell, gap = 64, 2
    sheet = Image.new("RGB", (8 * (cell + gap) + gap, len(rows) * (cell + gap) + gap), (255, 255, 255))
    for r, row in enumerate(rows):
        for c, image in enumerate([target] + row):
            sheet.paste(image, (gap + c * (cell + gap), gap + r * (cell + gap)))
    sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
    sheet.save(os.path.join(ROOT, "docs/images/real_photo_smile.png"))


if __name__ == "__main__":
    main()
