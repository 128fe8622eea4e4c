"""Small synthetic training folders the tests make themselves (no shared data needed)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def face_photo(seed: int, size: int = 48) -> Image.Image:
    """A crude face: skin ellipse, dark hair cap, eyes, mouth, on a coloured background."""
    rng = np.random.default_rng(seed)
    bg = tuple(int(v) for v in rng.integers(40, 220, 3))
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    s = size
    skin = tuple(int(v) for v in rng.integers(150, 240, 3))
    d.ellipse((s * .25, s * .2, s * .75, s * .85), fill=skin)
    d.chord((s * .22, s * .12, s * .78, s * .6), 180, 360, fill=tuple(int(v) for v in rng.integers(0, 90, 3)))
    for x in (.38, .62):
        d.ellipse((s * x - 2, s * .48 - 2, s * x + 2, s * .48 + 2), fill=(20, 20, 20))
    d.line((s * .42, s * .7, s * .58, s * .7), fill=(120, 30, 30), width=2)
    return im


def drawn_sketch(photo: Image.Image, style: int) -> Image.Image:
    """A stand-in 'drawn' sketch: edges of the photo, darker for style 1."""
    g = np.asarray(photo.convert("L"), dtype=np.float32)
    gy, gx = np.gradient(g)
    edge = np.clip(np.hypot(gx, gy) * (2.0 if style == 1 else 1.0), 0, 255)
    return Image.fromarray((255 - edge).astype(np.uint8), "L")


def make_fs2k(root: Path, per_style: int = 3, size: int = 48) -> Path:
    """An FS2K-layout folder: photos/, sketches/, pairs.csv with styles 0-2."""
    (root / "photos").mkdir(parents=True, exist_ok=True)
    (root / "sketches").mkdir(exist_ok=True)
    rows = []
    for style in range(3):
        for k in range(per_style):
            i = style * per_style + k
            ph = face_photo(i, size)
            ph.save(root / "photos" / f"image{i:04d}.jpg")
            drawn_sketch(ph, style).save(root / "sketches" / f"sketch{i:04d}.png")
            rows.append([f"photos/image{i:04d}.jpg", f"sketches/sketch{i:04d}.png", style])
    with open(root / "pairs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["photo", "sketch", "style"])
        w.writerows(rows)
    return root


def make_photo_folder(root: Path, n: int = 4, size: int = 48) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        face_photo(100 + i, size).save(root / f"p{i}.png")
    return root


def make_drawings(root: Path, n: int = 5, size: int = 48, strays: bool = True) -> Path:
    """A "my drawings" folder: photos/NAME.jpg and drawings/NAME.png matched by stem; with
    `strays`, also a photo without a drawing and a drawing without a photo."""
    (root / "photos").mkdir(parents=True, exist_ok=True)
    (root / "drawings").mkdir(exist_ok=True)
    for i in range(n):
        ph = face_photo(200 + i, size)
        ph.save(root / "photos" / f"face{i}.jpg")
        drawn_sketch(ph, 1).save(root / "drawings" / f"face{i}.png")
    if strays:
        face_photo(300, size).save(root / "photos" / "lonely-photo.jpg")
        drawn_sketch(face_photo(301, size), 1).save(root / "drawings" / "lonely-drawing.png")
    return root
