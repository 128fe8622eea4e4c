"""Image files <-> tensors: robust loading, square framing, PNG output with metadata."""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .files import atomic_write

if TYPE_CHECKING:  # the tensor functions import it: the window opens photos before PyTorch is loaded
    import torch

# Pillow's own guard against decompression bombs stays on (its default limit): over twice
# Image.MAX_IMAGE_PIXELS it raises and the image is refused. Between the limit and twice it
# (~90 to ~180 megapixels) Pillow only warns; such a camera photo is legitimate, and the
# warning would reach the CLI's stderr as two lines of Python, so `open_image` silences it.
# (catch_warnings is process-wide: two threads racing in it can at worst leave this one
# warning silenced for good, which is what we want anyway.)


class ImageLoadError(ValueError):
    """One-line, user-facing reason an image could not be used."""


@contextlib.contextmanager
def open_image(path):
    """Image.open without Pillow's DecompressionBombWarning (see above); closed on exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            yield im


def load_image(path: str | os.PathLike) -> Image.Image:
    """Open any Pillow-readable image as RGB, EXIF orientation applied, alpha on white."""
    path = Path(path)
    try:
        with open_image(path) as im:
            im.seek(0)  # first frame of animations
            im = ImageOps.exif_transpose(im)
            return to_rgb(im)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path}: is a folder, not an image") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(f"{path}: image is too large (over Pillow's pixel limit)") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(f"{path}: cannot read image ({exc})") from None


def to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if a.max() > 255 else 255.0
        im = Image.fromarray(np.clip(a / scale * 255.0, 0, 255).astype(np.uint8), "L")
    elif im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(a * (255.0 if a.max() <= 1 else 1.0), 0, 255).astype(np.uint8), "L")
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    return im.convert("RGB")


def photo_tensor(im: Image.Image, size: int) -> torch.Tensor:
    """RGB image -> (1, 3, size, size) float in [0, 1] (squashed to square if it is not)."""
    import torch

    im = im.convert("RGB").resize((size, size), Image.BICUBIC)
    a = np.asarray(im, dtype=np.float32) / 255.0  # (S, S, 3)
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """(1, H, W) or (H, W) in [0, 1] -> greyscale PIL image."""
    import torch

    a = t.detach().float().squeeze().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    return Image.fromarray(a, "L")


def save_png(im: Image.Image, path, text: dict[str, str] | None = None) -> None:
    """Write a PNG atomically, with `text` as tEXt/iTXt chunks."""
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_itxt(k, str(v))
    atomic_write(path, lambda tmp: im.save(tmp, format="PNG", pnginfo=info))


def read_png_text(path) -> dict[str, str]:
    with open_image(path) as im:
        return dict(getattr(im, "text", {}) or {})
