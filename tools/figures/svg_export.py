"""SVG export per style: file size and SSIM of the SVG rasterised again against the PNG.

    .venv/bin/python tools/figures/svg_export.py [--model PATH] [--photo resources/sample_face.png]
                     [--levels 8] [--scale 2] [--out DIR] [--json]

Sketches the photo in every style of the model (its recommended settings, a face crop at the
model's size), writes STYLE.png and STYLE.svg (sketchstudio/sketch_svg.py) to --out (default:
a temporary folder), rasterises each SVG with cairosvg and prints its size, its path count
and SSIM (core/metrics.py) against the PNG, beside the PNG's own size.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model")
    p.add_argument("--photo", default=str(ROOT / "resources" / "sample_face.png"))
    p.add_argument("--levels", type=int, default=8)
    p.add_argument("--scale", type=int, default=2, help="traced at this multiple of the sketch's size")
    p.add_argument("--out")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    import cairosvg
    import numpy as np
    import torch
    from PIL import Image

    from sketchstudio.core.imaging import save_png, tensor_to_image
    from sketchstudio.core.metrics import ssim_uint8
    from sketchstudio.core.sampler import finished, sample
    from sketchstudio.data.prepare import prepare_photo
    from sketchstudio.model_files import load, sampler_settings
    from sketchstudio.sketch_svg import save_svg

    torch.set_flush_denormal(True)
    model, info, mid = load(args.model)
    settings = sampler_settings(argparse.Namespace(), info).with_(preview="none")
    prep = prepare_photo(args.photo, model.photo_size, "face")
    out = Path(args.out or tempfile.mkdtemp(prefix="svg_export_"))
    rows = []
    for i, style in enumerate(model.styles):
        w = torch.zeros(len(model.styles))
        w[i] = 1
        last = sample(model, prep.tensor, w, settings)
        with torch.inference_mode():
            im = tensor_to_image(finished(model, last)[0])
        save_png(im, out / f"{style}.png")
        t0 = time.perf_counter()
        svg = save_svg(im, out / f"{style}.svg", args.levels, args.scale)
        seconds = time.perf_counter() - t0
        back = np.asarray(Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode()))).convert("L"))
        rows.append({"style": style, "svg_kb": round((out / f"{style}.svg").stat().st_size / 1000, 1),
                     "png_kb": round((out / f"{style}.png").stat().st_size / 1000, 1), "paths": svg.count("<path"),
                     "ssim": round(ssim_uint8(np.asarray(im), back), 4), "trace_s": round(seconds, 2)})
    if args.json:
        print(json.dumps({"model": mid, "levels": args.levels, "scale": args.scale, "size": im.size, "out": str(out),
                          "rows": rows}, indent=2))
        return 0
    print(f"{mid}, {Path(args.photo).name}, {im.size[0]} px, {args.levels} greys, traced at {args.scale}x; files in {out}")
    print(f"  {'style':12} {'SVG kB':>8} {'PNG kB':>8} {'paths':>6} {'SSIM':>7} {'trace s':>8}")
    for r in rows:
        print(f"  {r['style']:12} {r['svg_kb']:8.1f} {r['png_kb']:8.1f} {r['paths']:6d} {r['ssim']:7.4f} "
              f"{r['trace_s']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
