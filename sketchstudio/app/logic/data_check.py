"""What the wizard's check page shows about the chosen folders, before any training (Qt-free).

Uses the data layer's own matching (`load_drawings`, `list_images`), so the page lists
exactly the pairs and problems training will see. Files are only opened far enough to read
their header: quick on thousands of files; a file broken further in is still reported by
training (data_report.txt in the run folder).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from ...core.imaging import ImageLoadError, load_image, open_image
from ...data.datasets import DataReport, Pair, list_images, load_drawings
from ...data.faces import crop_face

# Shown when a pairs folder has drawings/ but no photos/ (and on the first page).
DRAWINGS_ONLY = (
    "Drawings without photos cannot make a new style: the model learns a style as \"this photo "
    "becomes this drawing\", and without the photos there is nothing to learn that from. On their "
    "own, drawings could only retune the sketch tokenizer (how lines and shading look), which every "
    "style shares: it would change all styles at once and add none, so SketchStudio does not offer it. "
    "Add the photos you drew from to photos/, with the same file names as the drawings."
)
FEW_PAIRS = 10


@dataclass
class DataCheck:
    pairs: list[Pair] = field(default_factory=list)
    photos: list[Path] = field(default_factory=list)  # photo-only images (synthetic sketches)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # why training cannot start
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def held_out(self) -> int:
        """Pairs training keeps aside to show progress (train.split_by_style: ~10%, at least one)."""
        n = len(self.pairs)
        return max(1, round(n * 0.1)) if n > 1 else 0

    def summary(self) -> str:
        parts = []
        if self.pairs:
            parts.append(f"{len(self.pairs)} photo–drawing pairs matched"
                         + (f" ({self.held_out} kept aside to check progress)" if self.held_out else ""))
        if self.photos:
            parts.append(f"{len(self.photos)} photos for synthetic sketches")
        if self.unmatched:
            parts.append(_files(len(self.unmatched)) + " without a partner")
        if self.unreadable:
            parts.append(_files(len(self.unreadable)) + " that cannot be read")
        return "; ".join(parts) + "." if parts else "Nothing usable found."

    def photo_for_preview(self) -> Path | None:
        return self.pairs[0].photo if self.pairs else (self.photos[0] if self.photos else None)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def header_problem(path: Path) -> str | None:
    """Why `path` is not a readable image (header only), or None."""
    try:
        with open_image(path) as im:
            im.size
    except FileNotFoundError:
        return "file not found"
    except Image.DecompressionBombError:
        return "image is too large"
    except (OSError, ValueError, SyntaxError):
        return "not an image file Pillow can read"
    return None


def _sort_report(report: DataReport, check: DataCheck) -> None:
    """Unreadable files first: an unmatched file that cannot be read would be no use matched either."""
    for path, reason in report.problems:
        if "not an image" in reason:
            check.unreadable.append((path, reason))
        elif bad := header_problem(Path(path)):
            check.unreadable.append((path, bad))
        else:
            check.unmatched.append((path, reason))


def _has_files(folder: Path) -> bool:
    return any(p.is_file() and not p.name.startswith(".") for p in folder.rglob("*"))


def _check_pairs(root: Path, style: str, check: DataCheck) -> None:
    has_p, has_d = (root / "photos").is_dir(), (root / "drawings").is_dir()
    if not has_p and not has_d:
        if not _has_files(root):
            check.errors.append(f"{root} is empty. Put your photos in {root / 'photos'} and your drawings in "
                                f"{root / 'drawings'}, with matching file names.")
        else:
            check.errors.append(f"{root} needs two subfolders: photos/ with the photos and drawings/ with your "
                                "drawings of them, each drawing named like its photo (anna.jpg and anna.png).")
        return
    if not has_p:
        check.errors.append(f"{root} has drawings/ but no photos/. {DRAWINGS_ONLY}")
        return
    if not has_d:
        check.errors.append(f"{root} has photos/ but no drawings/: put your drawings there, named like the photos.")
        return
    report = DataReport()
    pairs = load_drawings(root, style, report)
    _sort_report(report, check)
    for pair in pairs:
        bad = [(p, r) for p in (pair.photo, pair.sketch) if (r := header_problem(p))]
        check.unreadable += [(str(p), r) for p, r in bad]
        if not bad:
            check.pairs.append(pair)
    if check.pairs:
        if len(check.pairs) < FEW_PAIRS:
            check.notes.append(f"Only {len(check.pairs)} pairs: training works, but {FEW_PAIRS * 2} or more "
                               "give a steadier style.")
        return
    if check.unreadable and not check.unmatched:
        check.errors.append(f"None of the {len(check.unreadable)} files in photos/ and drawings/ can be read as "
                            "images.")
    elif check.unmatched or check.unreadable:
        check.errors.append("No photo has a readable drawing with the same file name (anna.jpg and anna.png "
                            "make a pair).")
    else:
        check.errors.append(f"photos/ and drawings/ in {root} are empty.")


def _check_photos(folder: Path, check: DataCheck, required: bool) -> None:
    report = DataReport()
    found = list_images(folder, report)
    _sort_report(report, check)
    for p in found:
        reason = header_problem(p)
        if reason:
            check.unreadable.append((str(p), reason))
        else:
            check.photos.append(p)
    if not check.photos and required:
        if check.unreadable:
            check.errors.append(f"None of the {len(check.unreadable)} files in {folder} can be read as images.")
        else:
            check.errors.append(f"{folder} has no photos.")


def check_data(job: str, pairs: str | None, photos: str | None, style: str = "new style") -> DataCheck:
    """Check the wizard's folders for `job` (training_plan.JOBS)."""
    check = DataCheck()
    for folder, needed in ((pairs, job != "pretrain"), (photos, job == "pretrain")):
        if needed and not folder:
            check.errors.append("Choose a folder.")
        elif folder and not Path(folder).is_dir():
            check.errors.append(f"{folder} is not a folder (or no longer exists).")
    if check.errors:
        return check
    if job != "pretrain":
        _check_pairs(Path(pairs), style, check)
    if photos:
        _check_photos(Path(photos), check, required=job == "pretrain")
    return check


def thumbnail(path, side: int) -> Image.Image | None:
    try:
        im = load_image(path)
    except ImageLoadError:
        return None
    return ImageOps.contain(im, (side, side))


def face_preview(path, side: int) -> tuple[Image.Image, bool] | None:
    """The face crop synthetic pre-training (and the studio) would use; found: a face was detected."""
    try:
        im = load_image(path)
    except ImageLoadError:
        return None
    crop, face, _ = crop_face(im)
    return crop.resize((side, side), Image.LANCZOS), face is not None
