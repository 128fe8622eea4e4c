"""Model files as both front ends open them: the command line and the window.

`load` opens a model (the shipped one by default) and turns what can go wrong with the file
into a `UserError`: a problem the user can fix, said in one line without a traceback.
"""
from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

# What a finished sketch can be drawn at (pixels on its longer side): the CLI's --size and the
# window's export. The renderer draws at the size asked, not a 512 px sketch resized.
OUTPUT_SIZES = (512, 1024, 2048)


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def model_id(path: Path) -> str:
    """`STEM@` and the first 12 hex digits of the file's SHA-256: names the exact weights."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{path.stem}@{h.hexdigest()[:12]}"


def load(path: str | None, clip_weights: str | None = None):
    """(model, info, model_id) of the named model or the shipped default; CheckpointError
    becomes a UserError."""
    from .core.checkpoint import CheckpointError, load_model
    from .core.encoder import ClipWeightsError
    from .paths import default_model_path

    p = Path(path) if path else default_model_path()
    if not path and not p.exists():
        raise UserError(f"{p}: the shipped model is missing; pass --model PATH")
    try:
        with _one_torch_thread():
            model, info = load_model(p, clip_weights)
    except (CheckpointError, ClipWeightsError) as exc:
        raise UserError(str(exc)) from None
    return model, info, model_id(p)


@contextlib.contextmanager
def _one_torch_thread():
    """Torch on one thread while a model loads, then as it was. Loading is hundreds of small
    copies and checks: with another busy process on a 2-core machine, an OpenMP team for them
    took 5.6-6.5 s against 0.35 s on one thread (issue 25); decoding keeps the full team."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def sampler_settings(options, info):
    """The model's recommended sampler settings under what the user gave: `options` has the
    attributes steps, temperature, self_guidance, style_guidance (None or absent: not given)."""
    from .core.sampler import RECOMMENDABLE, recommended_settings

    given = {k: getattr(options, k) for k in RECOMMENDABLE if getattr(options, k, None) is not None}
    return recommended_settings(info).with_(**given)
