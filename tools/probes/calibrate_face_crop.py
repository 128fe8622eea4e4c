"""Measure FS2K's framing in Face Mesh terms: for each training photo, the photo's short side
and its centre's drop below the eye midpoint, in eye-to-chin heights (the constants CROP_SIDE
and CROP_DROP of sketchstudio/core/face_structure.py).

    python tools/probes/calibrate_face_crop.py [--data ../shared/data/fs2k-train] [--per-folder 120]
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from sketchstudio.core.face_structure import default_models  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/fs2k-train"))
    ap.add_argument("--per-folder", type=int, default=120)
    args = ap.parse_args(argv)
    models = default_models()
    for folder in sorted((args.data / "photos").iterdir()):
        sides, drops, missed = [], [], 0
        for p in sorted(folder.glob("*.jpg"))[:args.per_folder]:
            im = Image.open(p).convert("RGB")
            face = models.analyse(im)
            if face is None:
                missed += 1
                continue
            t = math.radians(face.roll)
            down = np.array([-math.sin(t), math.cos(t)])
            centre = np.array(im.size) / 2
            sides.append(min(im.size) / face.height)
            drops.append(float((centre - face.eye_centre) @ down) / face.height)
        print(f"{folder.name}: {len(sides)} faces, {missed} missed; short side {np.median(sides):.2f} heights "
              f"(IQR {np.percentile(sides, 25):.2f}-{np.percentile(sides, 75):.2f}), centre drop {np.median(drops):.2f} "
              f"(IQR {np.percentile(drops, 25):.2f}-{np.percentile(drops, 75):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
