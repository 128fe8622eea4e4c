"""Training data sources and the report of files that could not be used.

Three layouts:
  * FS2K (`pairs.csv` with photo, sketch and style columns), e.g. ../shared/data/fs2k-train;
  * "my drawings": `photos/` and `drawings/` matched by file stem, one style name;
  * photo-only folders (any tree of images) for synthetic pre-training.
Nothing is silently dropped: unreadable or unmatched files go into a `DataReport`.
"""
from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import FS2K_STYLES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp", ".gif"}


@dataclass(frozen=True)
class Pair:
    photo: Path
    sketch: Path
    style: str


@dataclass
class DataReport:
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def add(self, path, reason: str) -> None:
        self.problems.append((str(path), reason))

    def lines(self) -> list[str]:
        return [f"{p}: {r}" for p, r in self.problems]

    def __len__(self) -> int:
        return len(self.problems)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path, report: DataReport | None = None) -> list[Path]:
    """All image files under `root`, sorted; other files are reported."""
    out = []
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            if is_image(p):
                out.append(p)
            elif report is not None and p.suffix.lower() not in {".txt", ".csv", ".json", ".md"}:
                report.add(p, "not an image file type")
    return out


def is_fs2k(root: Path) -> bool:
    return (Path(root) / "pairs.csv").is_file()


def load_fs2k(root, report: DataReport | None = None) -> list[Pair]:
    """Pairs from an FS2K-style pairs.csv (style 0/1/2 -> contour/charcoal/pencil)."""
    root = Path(root)
    report = report if report is not None else DataReport()
    pairs = []
    with open(root / "pairs.csv", newline="") as f:
        for row in csv.DictReader(f):
            photo, sketch = root / row["photo"], root / row["sketch"]
            try:
                style = FS2K_STYLES[int(row["style"])]
            except (KeyError, ValueError, IndexError):
                report.add(photo, f"bad style label {row.get('style')!r}")
                continue
            missing = [p for p in (photo, sketch) if not p.is_file()]
            if missing:
                report.add(missing[0], "listed in pairs.csv but missing")
                continue
            pairs.append(Pair(photo, sketch, style))
    return pairs


def load_drawings(root, style: str, report: DataReport | None = None) -> list[Pair]:
    """`root/photos/*` matched with `root/drawings/*` by file stem."""
    root = Path(root)
    report = report if report is not None else DataReport()
    photos = {p.stem: p for p in list_images(root / "photos", report)} if (root / "photos").is_dir() else {}
    drawings = {p.stem: p for p in list_images(root / "drawings", report)} if (root / "drawings").is_dir() else {}
    for stem in sorted(set(photos) - set(drawings)):
        report.add(photos[stem], "photo has no drawing with the same name")
    for stem in sorted(set(drawings) - set(photos)):
        report.add(drawings[stem], "drawing has no photo with the same name")
    return [Pair(photos[s], drawings[s], style) for s in sorted(set(photos) & set(drawings))]


def split_by_style(pairs: list[Pair], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Stratified hold-out: about `val_fraction` of each style (at least one) goes to validation."""
    by_style: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_style[p.style].append(p)
    rng = random.Random(seed)
    train, val = [], []
    for style in sorted(by_style):
        items = sorted(by_style[style], key=lambda p: str(p.photo))
        rng.shuffle(items)
        n_val = max(1, round(len(items) * val_fraction)) if len(items) > 1 else 0
        val += items[:n_val]
        train += items[n_val:]
    return train, val


def write_split(pairs: list[Pair], path) -> None:
    """Write pairs as a pairs.csv (absolute paths; FS2K styles by their 0-2 label) for `load_fs2k` and eval."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["photo", "sketch", "style"])
        for p in pairs:
            label = FS2K_STYLES.index(p.style) if p.style in FS2K_STYLES else p.style
            w.writerow([p.photo.resolve(), p.sketch.resolve(), label])


def unique_stems(paths: list[Path]) -> list[str]:
    """Output names for input files: the stem, or `<folder>-<stem>` (then `-N`) where stems repeat."""
    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    names = [f"{p.parent.name}-{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in paths]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out
