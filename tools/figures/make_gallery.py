"""docs/gallery.png from the shipped model, through the CLI (`sketchstudio sketch`).

    .venv/bin/python tools/figures/make_gallery.py --val runs/default/val/pairs.csv [--model PATH] [--out docs/gallery.png]

Rows: 8 held-out FS2K photos (spread over the three styles) and 2 ORL photos
(92x112 greyscale). Columns: the photo, contour, contour+charcoal, charcoal,
charcoal+pencil, pencil. Also prints the mean ink (darkness) of each column,
so one can check that interpolated styles sit between their ends.
"""
from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sketchstudio.cli import main as cli
from sketchstudio.data.datasets import unique_stems

COLUMNS = [("contour", "contour"), ("contour=0.5,charcoal=0.5", "contour+charcoal"), ("charcoal", "charcoal"),
           ("charcoal=0.5,pencil=0.5", "charcoal+pencil"), ("pencil", "pencil")]
ORL = Path(__file__).resolve().parents[3] / "shared" / "data" / "orl" / "photos"
CELL = 192


def pick_val(pairs_csv: Path, n: int = 8) -> list[Path]:
    with open(pairs_csv) as f:
        rows = list(csv.DictReader(f))
    by_style = {s: [r for r in rows if r["style"] == str(s)] for s in range(3)}
    picks = []
    for i in range(n):
        group = by_style[i % 3]
        picks.append(Path(group[(i // 3) * 5 % len(group)]["photo"]))
    return picks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--val", required=True)
    ap.add_argument("--model")
    ap.add_argument("--out", default="docs/gallery.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    photos = pick_val(Path(args.val)) + [ORL / "s3" / "1.pgm", ORL / "s17" / "2.pgm"]
    model = ["--model", args.model] if args.model else []
    ink = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (spec, _) in enumerate(COLUMNS):
            code = cli(["sketch", *map(str, photos), "--out", f"{tmp}/{i}", "--style", spec, "--crop", "none",
                        "--seed", str(args.seed), "-q", *model])
            if code != 0:
                raise SystemExit(f"sketch failed for style {spec}")
        sheet = Image.new("RGB", (CELL * (1 + len(COLUMNS)), 24 + CELL * len(photos)), "white")
        draw = ImageDraw.Draw(sheet)
        for c, (_, label) in enumerate([("", "photo"), *COLUMNS]):
            draw.text((c * CELL + 6, 6), label, fill="black")
        names = unique_stems(photos)
        for r, (photo, name) in enumerate(zip(photos, names)):
            y = 24 + r * CELL
            sheet.paste(Image.open(photo).convert("RGB").resize((CELL, CELL)), (0, y))
            for c in range(len(COLUMNS)):
                im = Image.open(f"{tmp}/{c}/{name}.png").convert("L")
                sheet.paste(im.resize((CELL, CELL)).convert("RGB"), ((c + 1) * CELL, y))
        for c in range(len(COLUMNS)):
            ink.append(np.mean([255 - np.asarray(Image.open(f"{tmp}/{c}/{n}.png").convert("L"), float).mean()
                                for n in names]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")
    for (spec, label), v in zip(COLUMNS, ink):
        print(f"mean ink {label:<18} {v:6.1f}")


if __name__ == "__main__":
    main()
