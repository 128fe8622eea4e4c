"""The photo being sketched and how it is framed; Qt-free.

A crop is a square (left, top, right, bottom) in the photo's pixels that may run past its
edges (edge pixels pad it, as `data.faces.crop_face` does), so the automatic crop gives the
very same model input as `sketchstudio sketch --crop face`. `crop=None` is the CLI's
`--crop none`: the whole photo squashed to a square.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ...core.imaging import photo_tensor
from ...data.faces import Box, detect_faces, face_crop_box

if TYPE_CHECKING:  # Photo.tensor's photo_tensor imports it: the window opens photos before torch is loaded
    import torch

Crop = tuple[int, int, int, int]
_keys = itertools.count(1)


def auto_crop(im: Image.Image, face: Box | None) -> Crop:
    """FS2K framing around the face, or the centre square when no face was found."""
    if face is not None:
        return face_crop_box(im, face)
    w, h = im.size
    s = min(w, h)
    l, t = (w - s) // 2, (h - s) // 2
    return l, t, l + s, t + s


def crop_square(im: Image.Image, box: Crop) -> Image.Image:
    """Cut `box` out of `im`, padding with edge pixels where it runs past the photo."""
    l, t, r, b = box
    a = np.asarray(im.convert("RGB"))  # (H, W, 3)
    pad = max(0, -l, -t, r - im.width, b - im.height)
    if pad:
        a = np.pad(a, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return Image.fromarray(np.ascontiguousarray(a[t + pad:b + pad, l + pad:r + pad]))


def clamp_crop(box: Crop, size: tuple[int, int], min_side: int = 16) -> Crop:
    """Keep a user-dragged square sensible: at least `min_side`, at most 3x the photo, centre inside it."""
    w, h = size
    l, t, r, b = box
    side = int(min(max(r - l, min_side), 3 * max(w, h)))
    cx = min(max((l + r) / 2, 0), w)
    cy = min(max((t + b) / 2, 0), h)
    l, t = int(round(cx - side / 2)), int(round(cy - side / 2))
    return l, t, l + side, t + side


@dataclass(frozen=True, eq=False)
class Photo:
    image: Image.Image  # RGB, EXIF orientation applied
    path: str | None = None
    face: Box | None = None  # the detected face, if any
    crop: Crop | None = None  # None: the whole photo, squashed
    key: int = 0  # identity of the pixels, for caching the encoder's output

    @classmethod
    def from_image(cls, im: Image.Image, path: str | None = None, detect: bool = True) -> "Photo":
        im = im.convert("RGB")
        faces = detect_faces(im) if detect else []
        face = faces[0] if faces else None
        return cls(im, path, face, auto_crop(im, face), next(_keys))

    def detected(self, keep_crop: bool = False) -> "Photo":
        """The same pixels with the face found and (unless keep_crop) the automatic crop applied."""
        faces = detect_faces(self.image)
        face = faces[0] if faces else None
        return replace(self, face=face, crop=self.crop if keep_crop else auto_crop(self.image, face))

    def with_crop(self, crop: Crop | None, clamp: bool = True) -> "Photo":
        """A user's crop is clamped; a stored one (reproducing a sketch) is taken as it is."""
        if crop is not None:
            crop = tuple(int(v) for v in crop)
            crop = clamp_crop(crop, self.image.size) if clamp else crop
        return replace(self, crop=crop)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def auto(self) -> Crop:
        return auto_crop(self.image, self.face)

    def framed(self) -> Image.Image:
        """What the model sees, before resizing."""
        return self.image if self.crop is None else crop_square(self.image, self.crop)

    def tensor(self, size: int) -> torch.Tensor:
        return photo_tensor(self.framed(), size)  # (1, 3, size, size)

    @property
    def cache_key(self) -> tuple:
        return (self.key, self.crop)
