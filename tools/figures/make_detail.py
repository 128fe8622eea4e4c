"""docs/gallery-detail.png: held-out sketches at 1:1, where pixel texture shows (issue #4).

    .venv/bin/python tools/figures/make_detail.py --val runs/v3/val/pairs.csv --compare runs/models/v2.safetensors \
        [--model PATH] [--out docs/gallery-detail.png] [--extra PHOTO ... [--extra-style STYLE ...]]

The gallery shrinks every sketch to a thumbnail, which hides what the texture head
changes. This sheet shows a 200 x 200 crop from the middle of one held-out photo per
style, at the drawing's own resolution: the artist's drawing, the --compare model's
sketch and the model's, both made through the CLI (`sketchstudio sketch --crop none`,
in the drawing's style, seed 0, the model's recommended sampler settings). --extra adds a row
for a photo that has no drawing (one not from FS2K): the photo's face crop, then each model's
`sketch --crop face` of it, shrunk from 512 px to the row's 200 (so not at 1:1).
"""
from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from sketchstudio.cli import main as cli
from sketchstudio.core.config import FS2K_STYLES

CROP = 200


def picks(pairs_csv: Path) -> list[dict]:
    with open(pairs_csv) as f:
        rows = list(csv.DictReader(f))
    return [{**[r for r in rows if r["style"] == str(i)][3], "name": name} for i, name in enumerate(FS2K_STYLES)]


def centre(im: Image.Image) -> Image.Image:
    w, h = im.size
    left, top = (w - CROP) // 2, (h - CROP) // 2
    return im.crop((left, top, left + CROP, top + CROP))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", required=True)
    ap.add_argument("--model", help="default: the shipped model")
    ap.add_argument("--compare", required=True, help="the model to show beside it")
    ap.add_argument("--out", default="docs/gallery-detail.png")
    ap.add_argument("--extra", nargs="*", default=[],
                    help="photos without a drawing, each shown as a last row (its face crop in colour, shrunk)")
    ap.add_argument("--extra-style", nargs="*", default=["contour"],
                    help="the style of each --extra photo (the last one repeats)")
    args = ap.parse_args()
    rows = picks(Path(args.val))
    for i, extra in enumerate(args.extra):
        style = args.extra_style[min(i, len(args.extra_style) - 1)]
        rows.append({"photo": extra, "sketch": None, "name": style, "extra": True})
    columns = [("drawing", None), (Path(args.compare).stem, args.compare),
               (Path(args.model).stem if args.model else "shipped", args.model)]
    sheet = Image.new("RGB", (CROP * len(columns), 24 + CROP * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    with tempfile.TemporaryDirectory() as tmp:
        for r, row in enumerate(rows):
            photo = Path(row["photo"])
            y = 24 + r * CROP
            extra = row.get("extra", False)
            for c, (label, model) in enumerate(columns):
                if model is None and label == "drawing":
                    if extra:  # no drawing: the photo's face crop, as the models see it
                        from sketchstudio.data.faces import crop_face
                        from sketchstudio.core.imaging import load_image

                        im = crop_face(load_image(photo))[0].convert("RGB").resize((CROP, CROP), Image.LANCZOS)
                    else:
                        im = Image.open(row["sketch"]).convert("L")
                else:
                    out = Path(tmp) / f"{r}-{c}"
                    argv = ["sketch", str(photo), "--out", str(out), "--style", row["name"],
                            "--crop", "face" if extra else "none", "-q"]
                    if model:
                        argv += ["--model", model]
                    if cli(argv) != 0:
                        raise SystemExit(f"sketch failed for {photo}")
                    im = Image.open(out / f"{photo.stem}.png").convert("L")
                    if extra:
                        im = im.resize((CROP, CROP), Image.LANCZOS)
                sheet.paste(centre(im).convert("RGB"), (c * CROP, y))
                if r == 0:
                    draw.text((c * CROP + 6, 6), label, fill="black")
            draw.text((6, y + 4), row["name"] + (" (photo, not FS2K; shrunk)" if extra else ""), fill="black")
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
