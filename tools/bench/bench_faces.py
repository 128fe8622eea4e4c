"""Face finding and framing: the landmark path (MediaPipe through LiteRT) against the Haar path.

    .venv/bin/python tools/bench/bench_faces.py [--data ../shared/data] [--sheet docs/face-crops.png]

Prints, for FS2K (all training photos and the 106 held-out ones), ORL and harder variants of
the held-out photos (turned +-30 degrees, shrunk to a ~64 px face in a 400 px frame, mirrored,
turned sideways by a perspective warp), the share of photos where each path finds the right
face (its face centre within half a face of where the photo's face is: the landmarks of the
untouched photo carried through the change), how well the crops agree with FS2K's own framing
(photo1 is framed by FS2K: IoU of the crop with the whole photo), and the cost per photo.
Writes a sheet of 12 held-out photos' crops from each path side by side (the last four turned
30 degrees first; --sheet-only writes just the sheet).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from sketchstudio.core.face_structure import default_models, face_framing, square_structure  # noqa: E402
from sketchstudio.data.datasets import DataReport, load_fs2k, split_by_style  # noqa: E402
from sketchstudio.data.faces import haar_faces, haar_framing  # noqa: E402


def variants(im: Image.Image, eye: np.ndarray, height: float):
    """(name, image, where the face's eye midpoint went, face height there) for each harder variant."""
    a = np.asarray(im)
    h, w = a.shape[:2]
    for deg in (30, -30):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
        yield f"rotated {deg:+d}", Image.fromarray(cv2.warpAffine(a, m, (w, h), borderMode=cv2.BORDER_REPLICATE)), \
            m[:, :2] @ eye + m[:, 2], height
    k = 64 / (height * 1.25)  # a face about 64 px wide (eye-to-chin is about 0.8 face widths)
    small = cv2.resize(a, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    canvas = np.full((400, 400, 3), 128, np.uint8)
    x0, y0 = 60, 90
    sh, sw = small.shape[:2]
    canvas[y0:y0 + min(sh, 400 - y0), x0:x0 + min(sw, 400 - x0)] = small[:400 - y0, :400 - x0]
    yield "64 px face in 400 px", Image.fromarray(canvas), eye * k + (x0, y0), height * k
    yield "mirrored", Image.fromarray(a[:, ::-1].copy()), np.array([w - eye[0], eye[1]]), height
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w * 0.8, h * 0.12], [w * 0.8, h * 0.88], [0, h]])  # the right side turned away
    p = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(a, p, (w, h), borderMode=cv2.BORDER_REPLICATE)
    e = cv2.perspectiveTransform(eye.reshape(1, 1, 2).astype(np.float32), p)[0, 0]
    yield "turned sideways", Image.fromarray(warped), e, height


def landmark_hit(models, im, eye, height) -> tuple[bool, object]:
    face = models.analyse(im)
    return face is not None and np.linalg.norm(face.eye_centre - eye) < 0.5 * height, face


def haar_hit(im, eye, height) -> tuple[bool, tuple | None]:
    boxes = haar_faces(im)
    if not boxes:
        return False, None
    x, y, w, h = boxes[0]
    return bool(np.linalg.norm(np.array([x + w / 2, y + h * 0.4]) - eye) < 0.5 * height), boxes[0]


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--sheet", type=Path, default=Path("docs/face-crops.png"))
    ap.add_argument("--sheet-only", action="store_true", help="only write the sheet")
    args = ap.parse_args(argv)
    models = default_models()
    pairs = load_fs2k(args.data / "fs2k-train", DataReport())
    _, val = split_by_style(pairs, 0.1, 0)
    if args.sheet_only:
        return write_sheet(models, val, args.sheet)
    orl = sorted((args.data / "orl").rglob("*.pgm"))
    rows = []

    def rate(name, images):
        lm = hr = n = 0
        for im in images:
            n += 1
            lm += models.analyse(im) is not None
            hr += bool(haar_faces(im))
        rows.append((name, n, lm / n, hr / n))

    rate("FS2K train + held-out (any face)", (Image.open(q.photo).convert("RGB") for q in pairs))
    rate("FS2K held-out (any face)", (Image.open(q.photo).convert("RGB") for q in val))
    rate("ORL (any face)", (Image.open(p).convert("RGB") for p in orl))

    # Harder variants of the held-out photos: the right face, not just any.
    hard: dict[str, list[tuple[bool, bool]]] = {}
    for q in val:
        im = Image.open(q.photo).convert("RGB")
        ref = models.analyse(im)
        if ref is None:
            continue
        for name, v, eye, height in variants(im, ref.eye_centre, ref.height):
            hard.setdefault(name, []).append((landmark_hit(models, v, eye, height)[0], haar_hit(v, eye, height)[0]))
    for name, hits in hard.items():
        rows.append((f"held-out, {name} (right face)", len(hits), sum(h[0] for h in hits) / len(hits),
                     sum(h[1] for h in hits) / len(hits)))

    print(f"{'set':<44} {'photos':>6} {'landmarks':>10} {'Haar':>6}")
    for name, n, a, b in rows:
        print(f"{name:<44} {n:>6} {a:>10.1%} {b:>6.1%}")

    # Crop agreement with FS2K's framing: photo1 photos are FS2K-framed squares.
    p1 = [q for q in pairs if "photo1" in str(q.photo)][:200]
    ious = {"landmarks": [], "Haar": []}
    for q in p1:
        im = Image.open(q.photo).convert("RGB")
        whole = (0, 0, *im.size)
        face = models.analyse(im)
        if face is not None:
            ious["landmarks"].append(iou(face_framing(face).box, whole))
        boxes = haar_faces(im)
        if boxes:
            ious["Haar"].append(iou(haar_framing(boxes[0]).box, whole))
    for k, v in ious.items():
        print(f"crop IoU with FS2K's own framing (photo1, {len(p1)} photos), {k}: median {statistics.median(v):.3f}, "
              f"10th percentile {np.percentile(v, 10):.3f} ({len(v)} framed)")

    # Cost per photo, one thread, on the held-out photos at the model's 256 px input.
    photos = [np.asarray(Image.open(q.photo).convert("RGB").resize((256, 256))) for q in val]
    square_structure(photos[0], 64)  # interpreters made
    for size in (64, 256):
        times = []
        for a in photos:
            t0 = time.perf_counter()
            square_structure(a, size)
            times.append(time.perf_counter() - t0)
        print(f"detection + landmarks + mask + map at {size} px: median {statistics.median(times) * 1e3:.1f} ms, "
              f"90th percentile {np.percentile(times, 90) * 1e3:.1f} ms ({len(times)} photos)")
    times = []
    for a in photos:
        t0 = time.perf_counter()
        haar_faces(Image.fromarray(a))
        times.append(time.perf_counter() - t0)
    print(f"Haar detection alone: median {statistics.median(times) * 1e3:.1f} ms")

    return write_sheet(models, val, args.sheet)


def write_sheet(models, val, path: Path) -> int:
    """12 held-out photos, the landmark crop (levelled) beside the Haar crop; the last row's
    four photos turned 30 degrees first."""
    tiles = []
    for i, q in enumerate(val[::max(1, len(val) // 12)][:12]):
        im = Image.open(q.photo).convert("RGB")
        if i >= 8:
            im = im.rotate(30 if i % 2 else -30, resample=Image.BICUBIC)
        face = models.analyse(im)
        boxes = haar_faces(im)
        pair = []
        for label, fr in (("landmarks", face_framing(face) if face else None),
                          ("Haar", haar_framing(boxes[0]) if boxes else None)):
            t = fr.crop(im).resize((160, 160)) if fr else Image.new("RGB", (160, 160), (90, 90, 90))
            ImageDraw.Draw(t).text((4, 4), label + ("" if fr else ": no face"), fill=(255, 255, 0))
            pair.append(t)
        tiles.append(pair)
    sheet = Image.new("RGB", (4 * 330, math.ceil(len(tiles) / 4) * 165), (255, 255, 255))
    for i, (a, b) in enumerate(tiles):
        x, y = (i % 4) * 330, (i // 4) * 165
        sheet.paste(a, (x, y))
        sheet.paste(b, (x + 162, y))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
