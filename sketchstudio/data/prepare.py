"""Photo file -> model input: load, frame (face crop or whole photo), resize."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ..core.imaging import load_image, photo_tensor
from .faces import Box, crop_face

CROPS = ("face", "none")


@dataclass
class PreparedPhoto:
    original_size: tuple[int, int]  # (W, H) of the photo as loaded (EXIF applied)
    framed: Image.Image  # what the model sees, before resizing
    tensor: torch.Tensor  # (1, 3, S, S) in [0, 1]
    face: Box | None  # detected face box; None with crop "none" or when no face was found
    warning: str | None = None


def prepare_image(im: Image.Image, size: int, crop: str = "face") -> PreparedPhoto:
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}")
    if crop == "none":
        # The whole photo, squashed to a square; outputs are resized back to the photo's size.
        return PreparedPhoto(im.size, im, photo_tensor(im, size), None)
    framed, face = crop_face(im)
    warning = None if face else "no face found; using a centre crop"
    return PreparedPhoto(im.size, framed, photo_tensor(framed, size), face, warning)


def prepare_photo(path, size: int, crop: str = "face") -> PreparedPhoto:
    return prepare_image(load_image(path), size, crop)
