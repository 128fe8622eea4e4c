"""Load training sources once into uint8 tensors (and a safetensors cache file).

Real pairs (FS2K or "my drawings") keep photo and sketch aligned pixel for
pixel (both squashed to the same square). Photo-only sources are face-cropped
and get one synthetic sketch per synthetic style.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..core.checkpoint import atomic_write
from ..core.config import FS2K_STYLES
from ..core.face_structure import CHANNELS, STRUCTURE_SIZE, STRUCTURE_VERSION, square_structure
from ..core.imaging import ImageLoadError, load_image
from .datasets import DataReport, Pair, is_fs2k, list_images, load_drawings, load_fs2k, split_by_style
from .faces import crop_face
from .synthetic import SYNTHETIC_STYLES, synthetic_sketch


@dataclass
class Source:
    path: Path
    style: str | None = None  # style name for a "my drawings" folder


@dataclass
class TrainingData:
    styles: tuple[str, ...]
    photos: torch.Tensor  # (P, 3, S, S) uint8: real-pair photos first, then photo-only
    real_photo: torch.Tensor  # (R,) long index into photos
    real_sketch: torch.Tensor  # (R, 1, S, S) uint8
    real_style: torch.Tensor  # (R,) long index into styles
    synth_photo: torch.Tensor  # (Q,) long
    synth_sketch: torch.Tensor  # (Q, 1, S, S) uint8
    synth_style: torch.Tensor  # (Q,) long
    val_photo: torch.Tensor  # (V, 3, S, S) uint8
    val_sketch: torch.Tensor  # (V, 1, S, S) uint8
    val_style: torch.Tensor  # (V,) long
    # The same real and held-out drawings at their own resolution (the upscale stage's
    # targets), top-left in a white canvas, with their (H, W); empty when built without them.
    real_native: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 1, 0, 0, dtype=torch.uint8))
    real_native_size: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 2, dtype=torch.long))
    val_native: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 1, 0, 0, dtype=torch.uint8))
    val_native_size: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 2, dtype=torch.long))
    # Face-structure maps (core/face_structure.py) of `photos` and `val_photo`, uint8 at
    # STRUCTURE_SIZE, made by `ensure_structure` with the map version `structure_version`;
    # `no_face` flags the photos where no face was found (their maps hold the person mask only).
    photo_structure: torch.Tensor = field(default_factory=lambda: _no_maps())
    val_structure: torch.Tensor = field(default_factory=lambda: _no_maps())
    photo_no_face: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    val_no_face: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    structure_version: int = 0

    def save(self, path) -> None:
        tensors = {k: getattr(self, k).contiguous() for k in self.__dataclass_fields__ if k not in _META_FIELDS}
        meta = {"styles": ",".join(self.styles), "structure_version": str(self.structure_version)}
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))

    @classmethod
    def load(cls, path) -> "TrainingData":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        styles = tuple(meta["styles"].split(","))
        return cls(styles=styles, structure_version=int(meta.get("structure_version", 0)), **load_file(str(path)))

    @property
    def structure_current(self) -> bool:
        return (self.structure_version == STRUCTURE_VERSION and len(self.photo_structure) == len(self.photos)
                and len(self.val_structure) == len(self.val_photo))

    def ensure_structure(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Compute the structure maps unless they are there and of the current version (a cache
        or pack made before them, or by an older map, is brought up to date). True if computed."""
        if self.structure_current:
            return False
        n = len(self.photos) + len(self.val_photo)
        done = 0

        def tick():
            nonlocal done
            done += 1
            if progress:
                progress(done, n)

        self.photo_structure, self.photo_no_face = _maps(self.photos, tick)
        self.val_structure, self.val_no_face = _maps(self.val_photo, tick)
        self.structure_version = STRUCTURE_VERSION
        return True


_META_FIELDS = ("styles", "structure_version")


def _no_maps(n: int = 0) -> torch.Tensor:
    return torch.zeros(n, len(CHANNELS), STRUCTURE_SIZE, STRUCTURE_SIZE, dtype=torch.uint8)


def _maps(photos: torch.Tensor, tick: Callable[[], None]) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 photos (P, 3, S, S) -> uint8 maps (P, C, STRUCTURE_SIZE, STRUCTURE_SIZE), no-face flags (P,)."""
    maps, missed = _no_maps(len(photos)), torch.zeros(len(photos), dtype=torch.bool)
    for i, ph in enumerate(photos):
        st = square_structure(np.ascontiguousarray(ph.permute(1, 2, 0).numpy()), STRUCTURE_SIZE)
        maps[i] = torch.from_numpy(np.round(st.map * 255).astype(np.uint8))
        missed[i] = st.face is None
        tick()
    return maps, missed


def _square(a: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA)


NATIVE_MAX = 1024  # drawings larger than this (longer side) are kept shrunk to it


def _native(a: np.ndarray) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    if max(h, w) <= NATIVE_MAX:
        return a
    k = NATIVE_MAX / max(h, w)
    return cv2.resize(a, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)


def _canvas(arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Drawings of any sizes -> (N, 1, Hmax, Wmax) uint8, each top-left on white, and (N, 2) sizes."""
    if not arrays:
        return torch.zeros(0, 1, 0, 0, dtype=torch.uint8), torch.zeros(0, 2, dtype=torch.long)
    hm, wm = max(a.shape[0] for a in arrays), max(a.shape[1] for a in arrays)
    out = torch.full((len(arrays), 1, hm, wm), 255, dtype=torch.uint8)
    for i, a in enumerate(arrays):
        out[i, 0, :a.shape[0], :a.shape[1]] = torch.from_numpy(np.array(a, dtype=np.uint8))
    return out, torch.tensor([a.shape[:2] for a in arrays], dtype=torch.long)


def _rgb_array(path: Path, size: int, crop: bool) -> np.ndarray:
    im = load_image(path)
    if crop:
        im, _, _ = crop_face(im)
    return _square(np.asarray(im), size)  # (S, S, 3)


def _grey_arrays(path: Path, size: int, native: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The sketch at `size` and (when `native`) at its own size (at most NATIVE_MAX)."""
    a = np.asarray(load_image(path).convert("L"))
    return _square(a, size), (_native(a) if native else None)  # (S, S), (h, w)


def build_training_data(
    sources: Iterable[Source], size: int, report: DataReport, val_fraction: float = 0.1, seed: int = 0,
    synthetic_for_real: bool = True, progress: Callable[[int, int], None] | None = None, native: bool = False,
) -> tuple[TrainingData, list[Pair]]:
    """Read every source; returns the tensors and the held-out validation pairs.

    native: also keep the real drawings at their own resolution (the upscale stage's targets).
    """
    pairs: list[Pair] = []
    photo_only: list[Path] = []
    for src in sources:
        p = Path(src.path)
        if not p.is_dir():
            report.add(p, "data folder not found")
        elif is_fs2k(p):
            pairs += load_fs2k(p, report)
        elif (p / "drawings").is_dir():
            pairs += load_drawings(p, src.style or p.name, report)
        else:
            photo_only += list_images(p, report)
    train_pairs, val_pairs = split_by_style(pairs, val_fraction, seed) if pairs else ([], [])
    # FS2K styles first in their label order, then any user styles by name.
    order = {s: i for i, s in enumerate(FS2K_STYLES)}
    real_styles = sorted({q.style for q in pairs}, key=lambda s: (s not in order, order.get(s, 0), s))
    styles = tuple(real_styles) + SYNTHETIC_STYLES
    sidx = {s: i for i, s in enumerate(styles)}

    photos, real_photo, real_sketch, real_style = [], [], [], []
    val_photo, val_sketch, val_style = [], [], []
    real_own, val_own = [], []  # the drawings at their own resolution (native=True)
    synth_src: list[int] = []
    kept_val: list[Pair] = []
    photo_paths: list[Path] = []  # photos[i] came from photo_paths[i]
    work = len(train_pairs) + len(val_pairs) + len(photo_only)
    done = 0

    def tick():
        nonlocal done
        done += 1
        if progress:
            progress(done, work)

    for group, is_val in ((train_pairs, False), (val_pairs, True)):
        for q in group:
            try:
                ph = _rgb_array(q.photo, size, crop=False)
                sk, own = _grey_arrays(q.sketch, size, native)
            except ImageLoadError as exc:
                report.add(q.photo, str(exc).split(": ", 1)[-1])
                tick()
                continue
            if is_val:
                val_photo.append(ph), val_sketch.append(sk), val_style.append(sidx[q.style])
                val_own.append(own)
                kept_val.append(q)
            else:
                real_photo.append(len(photos)), real_sketch.append(sk), real_style.append(sidx[q.style])
                real_own.append(own)
                if synthetic_for_real:
                    synth_src.append(len(photos))
                photos.append(ph)
                photo_paths.append(q.photo)
            tick()
    for path in photo_only:
        try:
            ph = _rgb_array(path, size, crop=True)
        except ImageLoadError as exc:
            report.add(path, str(exc).split(": ", 1)[-1])
            tick()
            continue
        synth_src.append(len(photos))
        photos.append(ph)
        photo_paths.append(path)
        tick()

    synth_photo, synth_sketch, synth_style = [], [], []
    for i in synth_src:
        for s in SYNTHETIC_STYLES:
            synth_photo.append(i), synth_sketch.append(synthetic_sketch(photos[i], s, seed=i)), synth_style.append(sidx[s])

    def img(a, channels):
        if not a:
            return torch.zeros(0, channels, size, size, dtype=torch.uint8)
        t = torch.from_numpy(np.stack(a))
        return t.permute(0, 3, 1, 2).contiguous() if channels == 3 else t.unsqueeze(1).contiguous()

    def idx(a):
        return torch.tensor(a, dtype=torch.long)

    real_native, real_native_size = _canvas([a for a in real_own if a is not None])
    val_native, val_native_size = _canvas([a for a in val_own if a is not None])
    data = TrainingData(
        styles=styles, photos=img(photos, 3), real_photo=idx(real_photo), real_sketch=img(real_sketch, 1),
        real_style=idx(real_style), synth_photo=idx(synth_photo), synth_sketch=img(synth_sketch, 1),
        synth_style=idx(synth_style), val_photo=img(val_photo, 3), val_sketch=img(val_sketch, 1),
        val_style=idx(val_style),
        real_native=real_native, real_native_size=real_native_size,
        val_native=val_native, val_native_size=val_native_size,
    )
    data.ensure_structure()
    for paths, missed in ((photo_paths, data.photo_no_face), ([q.photo for q in kept_val], data.val_no_face)):
        for i in missed.nonzero().flatten().tolist():
            report.add(paths[i], NO_FACE)
    return data, kept_val


NO_FACE = "no face found: its structure map holds the person mask only"


