"""A file in parts of at most N bytes, with a manifest, and the parts joined back.

Files come back from a lent GPU machine at most 16 MiB each (tools/train/gpu_train.py writes its
model this way). The manifest, `NAME.parts.json` beside `NAME.part000`, `NAME.part001`, ...,
lists each part's size and SHA-256 and the whole file's; `join_parts` checks all of them, so a
missing, truncated or mixed-up part is a one-line `PartsError`, never a damaged model.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .checkpoint import atomic_write

PARTS_FORMAT = "sketchstudio-parts"
PART_BYTES = 16_000_000  # under both 16 MB and 16 MiB


class PartsError(ValueError):
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_parts(path, folder, part_bytes: int = PART_BYTES) -> Path:
    """Split the file `path` into `folder`/NAME.partNNN of at most `part_bytes` each (NAME: its
    file name) and write `folder`/NAME.parts.json; returns the manifest's path."""
    path, folder = Path(path), Path(folder)
    if part_bytes < 1:
        raise ValueError("part_bytes must be at least 1")
    data = path.read_bytes()
    parts = []
    for n, start in enumerate(range(0, max(1, len(data)), part_bytes)):
        chunk = data[start:start + part_bytes]
        name = f"{path.name}.part{n:03d}"
        atomic_write(folder / name, lambda tmp, c=chunk: Path(tmp).write_bytes(c))
        parts.append({"file": name, "bytes": len(chunk), "sha256": _sha256(chunk)})
    manifest = {"format": PARTS_FORMAT, "name": path.name, "bytes": len(data), "sha256": _sha256(data),
                "parts": parts}
    out = folder / f"{path.name}.parts.json"
    atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1) + "\n"))
    return out


def join_parts(manifest, out=None) -> Path:
    """Join the parts a manifest lists (in its folder) into `out` (default: the original name
    beside the manifest), after checking every size and SHA-256; returns `out`."""
    manifest = Path(manifest)
    try:
        m = json.loads(manifest.read_text())
        if m.get("format") != PARTS_FORMAT:
            raise PartsError(f"{manifest}: not a parts manifest")
        parts, name, size, digest = m["parts"], m["name"], m["bytes"], m["sha256"]
    except FileNotFoundError:
        raise PartsError(f"{manifest}: not found") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, PartsError):
            raise
        raise PartsError(f"{manifest}: not a readable parts manifest ({exc})") from None
    chunks = []
    for p in parts:
        f = manifest.parent / p["file"]
        if not f.is_file():
            raise PartsError(f"{f}: part missing")
        chunk = f.read_bytes()
        if len(chunk) != p["bytes"] or _sha256(chunk) != p["sha256"]:
            raise PartsError(f"{f}: part damaged ({len(chunk)} bytes, SHA-256 does not match the manifest)")
        chunks.append(chunk)
    data = b"".join(chunks)
    if len(data) != size or _sha256(data) != digest:
        raise PartsError(f"{manifest}: the joined parts do not make the file it describes")
    out = Path(out) if out is not None else manifest.parent / Path(name).name
    atomic_write(out, lambda tmp: Path(tmp).write_bytes(data))
    return out
