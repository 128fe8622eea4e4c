"""Markdown tables from `sketchstudio eval --json` files: SCOOT, per-part inking, mid-grey and
ink outside the person, per style, for the drawings and each model, and the issue-24 gaps.

    .venv/bin/python tools/bench/eval_table.py NAME=eval.json [NAME=eval.json ...]

Each file's "model" row is named NAME; the drawings' row is taken from the first file (every
file of one held-out split has the same one). The last table is each model's largest gap to
the drawings' per-part inking in each style (issue 24's target: every part within 0.10), the
mid-grey difference (within 0.05) and the ink outside the person as a multiple of the
drawings' (at most 1.5x).
"""
from __future__ import annotations

import argparse
import json

PARTS = ("jaw", "brows", "eyes", "nose", "lips")
STYLES = ("all", "contour", "charcoal", "pencil")


def load(arg: str) -> tuple[str, dict]:
    name, _, path = arg.partition("=")
    with open(path) as f:
        return name, json.load(f)["scores"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("evals", nargs="+", help="NAME=path/to/eval.json")
    runs = [load(a) for a in ap.parse_args().evals]
    drawing = runs[0][1]["drawing"]
    rows = [("drawings", drawing)] + [(name, scores["model"]) for name, scores in runs]

    print("| SCOOT | " + " | ".join(STYLES) + " |\n|---|" + "---|" * len(STYLES))
    for name, scores in runs:
        print(f"| {name} | " + " | ".join(f"{scores['model'][f'{s}/scoot']:.3f}" for s in STYLES) + " |")

    for style in STYLES[1:]:
        cols = [f"ink_{p}" for p in PARTS] + ["midgrey", "ink_out"]
        print(f"\n| {style} | " + " | ".join(c.replace("ink_", "") for c in cols) + " |\n|---|" + "---|" * len(cols))
        for name, s in rows:
            print(f"| {name} | " + " | ".join(f"{s[f'{style}/{c}']:.3f}" for c in cols) + " |")

    print("\n| gaps to the drawings | " + " | ".join(
        f"{s} parts (max abs) | {s} mid-grey | {s} ink out (x)" for s in STYLES[1:]) + " |")
    print("|---|" + "---|---|---|" * (len(STYLES) - 1))
    for name, scores in runs:
        m, cells = scores["model"], []
        for s in STYLES[1:]:
            part_gap = max(abs(m[f"{s}/ink_{p}"] - drawing[f"{s}/ink_{p}"]) for p in PARTS)
            worst = max(PARTS, key=lambda p: abs(m[f"{s}/ink_{p}"] - drawing[f"{s}/ink_{p}"]))
            cells += [f"{part_gap:.2f} ({worst})", f"{m[f'{s}/midgrey'] - drawing[f'{s}/midgrey']:+.3f}",
                      f"{m[f'{s}/ink_out'] / max(drawing[f'{s}/ink_out'], 1e-9):.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
