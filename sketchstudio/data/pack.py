"""A training pack: the `TrainingData` of some sources in one small file, for a machine that
has none of the source folders (a GPU lent for minutes: its whole working tree, the shipped
model's 34 MiB included, may be 64 MiB, so the pack has about 20 MB).

`data.safetensors` (cache.py) keeps every image raw, about 460 MB for FS2K. A pack keeps

  * the photos (real pairs', photo-only sources', held-out) as lossy WebP;
  * the drawings (real and held-out) at their own resolution, as lossy WebP by default or
    lossless PNG (`drawing_quality=None`; FS2K's noisy scans then need ~56 MB). Their square
    versions are made from them the way `build_training_data` makes them, so a lossless pack
    gives them back exactly; a drawing kept shrunk to NATIVE_MAX also stores its square;
  * no synthetic sketches: they are made again from the unpacked photos with the same styles
    and seeds (exact where the photo is; a lossy photo moves them a little);
  * the photos' face-structure maps, made from the photos before they were compressed, as
    lossless PNG (a few KB each), with the map version: a pack of another version has its maps
    made again from the unpacked photos when it is loaded.

Indices, styles and sizes come back exactly. `load_pack` expands a pack to the TrainingData
the pipeline trains on; `prepare_data` takes a pack as its one source (`sketchstudio train
... --data FILE.pack`). The held-out pairs' file names and the data report are JSON metadata.
"""
from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..core.checkpoint import atomic_write
from ..core.face_structure import STRUCTURE_VERSION
from .cache import TrainingData, _canvas, _square
from .datasets import DataReport, Pair
from .synthetic import synthetic_sketch

PACK_FORMAT = "sketchstudio-training-pack"
PACK_VERSION = 1
# WebP qualities (1-100). On 40 FS2K pairs: photos at 70 ~4.6 KB each, mean error 2.7 grey
# levels; drawings at 80 ~13.5 KB, 2.2 grey levels (the drawings are the render stage's targets,
# so they get the bytes). The whole of FS2K: docs/BENCHMARKS.md.
PHOTO_QUALITY = 70
DRAWING_QUALITY = 80


def _encode(a: np.ndarray, quality: int | None) -> bytes:
    """(H, W, 3) or (H, W) uint8 -> lossy WebP at `quality`, or lossless PNG when None."""
    buf = io.BytesIO()
    if quality is None:
        Image.fromarray(a).save(buf, format="PNG", compress_level=9)
    else:
        Image.fromarray(a).save(buf, format="WEBP", quality=quality, method=6)
    return buf.getvalue()


def _decode(data: bytes, mode: str) -> np.ndarray:
    """Bytes of any image Pillow reads -> (H, W, 3) uint8 for mode "RGB", (H, W) for "L"."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode))


def _blob(chunks: list[bytes]) -> tuple[torch.Tensor, torch.Tensor]:
    """Byte strings -> (all bytes (T,) uint8, offsets (n + 1,) int64)."""
    offsets = np.cumsum([0] + [len(c) for c in chunks])
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8).copy()
    return torch.from_numpy(data), torch.from_numpy(offsets.astype(np.int64))


def _unblob(data: torch.Tensor, offsets: torch.Tensor) -> list[bytes]:
    raw, o = data.numpy().tobytes(), offsets.tolist()
    return [raw[a:b] for a, b in zip(o[:-1], o[1:])]


def _own(canvas: torch.Tensor, sizes: torch.Tensor) -> list[np.ndarray]:
    """Drawings top-left on a white canvas (N, 1, Hm, Wm) -> each at its own (h, w)."""
    return [np.ascontiguousarray(canvas[i, 0, :h, :w].numpy()) for i, (h, w) in enumerate(sizes.tolist())]


def _photos(x: torch.Tensor) -> list[np.ndarray]:
    return [a for a in x.permute(0, 2, 3, 1).numpy()]  # (S, S, 3) each


def pack_training_data(data: TrainingData, val_pairs: list[Pair], path, report: DataReport | None = None,
                       photo_quality: int = PHOTO_QUALITY, drawing_quality: int | None = DRAWING_QUALITY) -> int:
    """Write `data` (built with native=True) as a pack at `path`; returns its size in bytes.
    drawing_quality None: the drawings lossless."""
    if len(data.real_sketch) != len(data.real_native) or len(data.val_sketch) != len(data.val_native):
        raise ValueError("a pack needs the drawings at their own resolution (build_training_data(native=True))")
    size = data.photos.shape[-1] if len(data.photos) else data.val_photo.shape[-1]
    tensors: dict[str, torch.Tensor] = {}
    for name, photos in (("photos", data.photos), ("val_photos", data.val_photo)):
        tensors[f"{name}.bytes"], tensors[f"{name}.offsets"] = _blob(
            [_encode(a, photo_quality) for a in _photos(photos)])
    for name, sketches, canvas, sizes in (("drawings", data.real_sketch, data.real_native, data.real_native_size),
                                          ("val_drawings", data.val_sketch, data.val_native, data.val_native_size)):
        own = _own(canvas, sizes)
        tensors[f"{name}.bytes"], tensors[f"{name}.offsets"] = _blob([_encode(a, drawing_quality) for a in own])
        # A drawing kept shrunk (over NATIVE_MAX) does not give back its square: store that too.
        odd = [i for i, a in enumerate(own) if not np.array_equal(_square(a, size), sketches[i, 0].numpy())]
        tensors[f"{name}.square_index"] = torch.tensor(odd, dtype=torch.long)
        tensors[f"{name}.square_bytes"], tensors[f"{name}.square_offsets"] = _blob(
            [_encode(sketches[i, 0].numpy(), drawing_quality) for i in odd])
    for k in ("real_photo", "real_style", "synth_photo", "synth_style", "val_style"):
        tensors[k] = getattr(data, k).contiguous()
    data.ensure_structure()
    for name in ("photo_structure", "val_structure"):
        maps = getattr(data, name)  # (P, C, s, s) -> one (C * s, s) grey PNG each
        tensors[f"{name}.bytes"], tensors[f"{name}.offsets"] = _blob(
            [_encode(m.reshape(-1, m.shape[-1]).numpy(), None) for m in maps])
    tensors["photo_no_face"], tensors["val_no_face"] = data.photo_no_face, data.val_no_face
    meta = {
        "structure_version": str(data.structure_version),
        "structure_shape": json.dumps(list(data.photo_structure.shape[1:])),
        "format": PACK_FORMAT, "version": str(PACK_VERSION), "size": str(size), "styles": json.dumps(data.styles),
        "photo_quality": str(photo_quality), "drawing_quality": str(drawing_quality),
        "val_pairs": json.dumps([[str(Path(p.photo).resolve()), str(Path(p.sketch).resolve()), p.style]
                                 for p in val_pairs]),
        "report": json.dumps(report.problems if report else []),
    }
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
    return Path(path).stat().st_size


def pack_metadata(path) -> dict | None:
    """A pack's metadata, or None when `path` is not a pack (a folder, another file)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError):
        return None
    return meta if meta.get("format") == PACK_FORMAT else None


def is_pack(path) -> bool:
    return pack_metadata(path) is not None


def load_pack(path, size: int | None = None, native: bool = True, workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> tuple[TrainingData, list[Pair], DataReport]:
    """Expand a pack: (the TrainingData, the held-out pairs, the report of files its build skipped).

    size: the sketch size the caller trains at; a pack made for another size is a ValueError.
    native: keep the drawings at their own resolution (as build_training_data(native=...)).
    The images are decoded and the synthetic sketches drawn on `workers` threads (OpenCV and
    Pillow release the GIL); the result does not depend on how many."""
    meta = pack_metadata(path)
    if meta is None:
        raise ValueError(f"{path}: not a SketchStudio training pack")
    if meta.get("version") != str(PACK_VERSION):
        raise ValueError(f"{path}: training pack version {meta.get('version')!r} (this SketchStudio reads {PACK_VERSION})")
    packed = int(meta["size"])
    if size is not None and size != packed:
        raise ValueError(f"{path}: the pack holds {packed} px training images; this model trains at {size} px "
                         "(pack the data again with its --config)")
    with safe_open(str(path), framework="pt") as f:
        t = {k: f.get_tensor(k) for k in f.keys()}
    styles = tuple(json.loads(meta["styles"]))
    workers = workers or min(16, os.cpu_count() or 1)
    blobs = {name: _unblob(t[f"{name}.bytes"], t[f"{name}.offsets"])
             for name in ("photos", "val_photos", "drawings", "val_drawings")}
    jobs = sum(len(b) for b in blobs.values()) + len(t["synth_photo"])
    done = 0

    def mapped(fn, items):
        nonlocal done
        with ThreadPoolExecutor(workers) as pool:
            out = list(pool.map(fn, items))
        done += len(out)
        if progress:
            progress(done, jobs)
        return out

    decoded = {name: mapped(lambda b: _decode(b, "L" if "drawings" in name else "RGB"), b)
               for name, b in blobs.items()}
    photos = decoded["photos"]
    synth = mapped(lambda k: synthetic_sketch(photos[k[0]], styles[k[1]], seed=k[0]),
                   list(zip(t["synth_photo"].tolist(), t["synth_style"].tolist())))

    def squares(name: str) -> list[np.ndarray]:
        out = [_square(a, packed) for a in decoded[name]]
        extra = _unblob(t[f"{name}.square_bytes"], t[f"{name}.square_offsets"])
        for i, b in zip(t[f"{name}.square_index"].tolist(), extra):
            out[i] = _decode(b, "L")
        return out

    def img(a: list[np.ndarray], channels: int) -> torch.Tensor:
        if not a:
            return torch.zeros(0, channels, packed, packed, dtype=torch.uint8)
        x = torch.from_numpy(np.stack(a))
        return x.permute(0, 3, 1, 2).contiguous() if channels == 3 else x.unsqueeze(1).contiguous()

    extra = {}
    if native:
        extra = dict(zip(("real_native", "real_native_size"), _canvas(decoded["drawings"])))
        extra.update(zip(("val_native", "val_native_size"), _canvas(decoded["val_drawings"])))
    data = TrainingData(
        styles=styles, photos=img(photos, 3), real_photo=t["real_photo"], real_sketch=img(squares("drawings"), 1),
        real_style=t["real_style"], synth_photo=t["synth_photo"], synth_sketch=img(synth, 1),
        synth_style=t["synth_style"], val_photo=img(decoded["val_photos"], 3),
        val_sketch=img(squares("val_drawings"), 1), val_style=t["val_style"], **extra)
    if meta.get("structure_version") == str(STRUCTURE_VERSION) and "photo_structure.bytes" in t:
        shape = json.loads(meta["structure_shape"])
        for name, flags in (("photo_structure", "photo_no_face"), ("val_structure", "val_no_face")):
            maps = [_decode(b, "L").reshape(shape) for b in _unblob(t[f"{name}.bytes"], t[f"{name}.offsets"])]
            setattr(data, name, torch.from_numpy(np.stack(maps)) if maps else torch.zeros(0, *shape, dtype=torch.uint8))
            setattr(data, flags, t[flags])
        data.structure_version = STRUCTURE_VERSION
    data.ensure_structure()  # a pack made before the maps, or by another version: made again
    val = [Pair(Path(p), Path(s), style) for p, s, style in json.loads(meta["val_pairs"])]
    report = DataReport([tuple(x) for x in json.loads(meta["report"])])
    return data, val, report
