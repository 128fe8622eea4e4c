"""Join a model written in parts (tools/train/gpu_train.py) back into one file, checking every part.

    .venv/bin/python tools/train/join_parts.py DIR/MODEL.safetensors.parts.json [--out MODEL.safetensors]

Default --out: the original file name beside the manifest. Then load it like any model
(`sketchstudio --model`, `sketch --model`, `eval --model`). Exit 1 with one line when a part
is missing or damaged.
"""
from __future__ import annotations

import argparse
import sys

from sketchstudio.core.checkpoint import CheckpointError, read_config
from sketchstudio.core.parts import PartsError, join_parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest", help="NAME.parts.json")
    ap.add_argument("--out", help="the joined file (default: its original name beside the manifest)")
    args = ap.parse_args(argv)
    try:
        out = join_parts(args.manifest, args.out)
        cfg, info = read_config(out)  # a model file: say what it is
    except (PartsError, CheckpointError) as exc:
        print(f"join_parts: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({len(cfg.styles)} styles; stage {info.get('stage', '?')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
