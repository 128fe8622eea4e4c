"""Writing files safely: atomic replacement and the clean-up of what a killed writer left.

Torch-free, so the window and the settings file can use it before PyTorch is imported.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from safetensors import SafetensorError

TEMP_SUFFIX = ".tmp"  # atomic_write's temporary files: ".<name, cut>.<random>.tmp" beside the target


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(tmp_path) then rename onto `path`, so readers never see a partial file.

    On failure the target is untouched and the temporary file is gone. An OSError (a full
    disk, a read-only folder) names `path`, not the hidden temporary file, whichever
    library raised it.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A file name may have 255 bytes: keep the temporary's well inside that for any target.
        short = path.name.encode()[:100].decode(errors="ignore")
        fd, tmp = tempfile.mkstemp(prefix=f".{short}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        code = _os_error_code(exc)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


def _os_error_code(exc: BaseException) -> int | None:
    """The errno of a failed write: an OSError's, or the one safetensors (Rust) puts in its message."""
    if isinstance(exc, OSError):
        return exc.errno
    if isinstance(exc, SafetensorError):
        m = re.search(r"os error (\d+)", str(exc))
        return int(m[1]) if m else None
    return None


def remove_stale_temps(folder) -> list[Path]:
    """Delete temporary files a killed atomic_write left in `folder` (call it only on a folder
    one process owns, e.g. a training run's: a live writer's temporary file would go too)."""
    removed = []
    for p in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
