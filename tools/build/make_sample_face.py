"""Draw resources/sample_face.png: a procedural, face-like test photo (no real person, no dataset).

    .venv/bin/python tools/build/make_sample_face.py

Shaded with soft gradients so OpenCV's frontal-face cascade has eyes, brows, a nose and a
mouth to find; the self-test (`sketchstudio --self-test`) sketches it in every style.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

W, H = 360, 440
OUT = Path(__file__).resolve().parents[2] / "resources" / "sample_face.png"


def ellipse_mask(cx, cy, rx, ry) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2  # < 1 inside


def main() -> None:
    y, x = np.mgrid[0:H, 0:W]
    bg = np.stack([170 + 40 * y / H, 190 + 20 * x / W, 210 - 30 * y / H], -1)  # soft blue-grey wall
    img = bg.copy()
    cx, cy = W / 2, H * 0.43
    # shoulders and neck
    shoulders = ellipse_mask(cx, H * 1.05, W * 0.55, H * 0.28) < 1
    img[shoulders] = [60, 70, 95]
    neck = (abs(x - cx) < 38) & (y > cy + 90) & (y < H * 0.84)
    img[neck] = [205, 160, 135]
    # head: skin, darker towards its edge so it reads as round
    d = ellipse_mask(cx, cy, 98, 128)
    shade = np.clip(1.15 - 0.5 * d ** 2, 0.55, 1.1)
    skin = np.stack([228 * shade, 182 * shade, 152 * shade], -1)
    img[d < 1] = skin[d < 1]
    # hair: a cap over the top of the head
    hair = (ellipse_mask(cx, cy - 30, 108, 118) < 1) & ((y < cy - 62) | (d >= 1) & (y < cy + 40))
    img[hair] = [55, 38, 30]
    # eye sockets and the sides of the nose a little darker: the light-dark pattern face
    # detectors look for (bright nose bridge between dark eye regions)
    head = (d < 1)[..., None]
    for side in (-1, 1):
        socket = np.exp(-1.5 * ellipse_mask(cx + side * 40, cy - 14, 36, 22))[..., None]
        nose_side = np.exp(-2.0 * ellipse_mask(cx + side * 14, cy + 22, 7, 26))[..., None]
        img = np.where(head, img * (1 - 0.3 * socket) * (1 - 0.2 * nose_side), img)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for side in (-1, 1):
        ex, ey = cx + side * 40, cy - 12
        draw.ellipse([ex - 22, ey - 11, ex + 22, ey + 11], fill=(245, 245, 240))  # eye white
        draw.ellipse([ex - 9, ey - 9, ex + 9, ey + 9], fill=(70, 50, 35))  # iris
        draw.ellipse([ex - 4, ey - 4, ex + 4, ey + 4], fill=(10, 10, 10))  # pupil
        draw.arc([ex - 24, ey - 14, ex + 24, ey + 12], 200, 340, fill=(90, 60, 50), width=3)  # lid
        draw.line([ex - 26, ey - 24, ex + 24, ey - 28], fill=(50, 35, 28), width=7)  # brow
    draw.line([cx - 14, cy + 44, cx + 14, cy + 44], fill=(150, 100, 85), width=3)
    draw.chord([cx - 34, cy + 58, cx + 34, cy + 92], 0, 180, fill=(170, 80, 80))  # mouth
    draw.line([cx - 34, cy + 75, cx + 34, cy + 75], fill=(120, 50, 50), width=2)
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    im.save(OUT, optimize=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
