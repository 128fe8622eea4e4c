"""The photo being sketched and how it is framed; Qt-free.

A crop is a square (left, top, right, bottom) in the photo's pixels that may run past its
edges (edge pixels pad it), turned by `roll` degrees about its centre so the eyes are level,
as `data.faces.crop_face` frames it, so the automatic crop gives the very same model input as
`sketchstudio sketch --crop face`. `crop=None` is the CLI's `--crop none`: the whole photo
squashed to a square.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PIL import Image

from ...core.imaging import photo_tensor
from ...data.faces import Face, Framing, auto_framing, find_face

if TYPE_CHECKING:  # Photo.tensor's photo_tensor imports it: the window opens photos before torch is loaded
    import torch

Crop = tuple[int, int, int, int]
_keys = itertools.count(1)


def auto_crop(im: Image.Image, face: Face | None) -> Crop:
    """FS2K framing around the face, or the centre square when no face was found."""
    return auto_framing(im, face).box


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
    face: Face | None = None  # the face found, with its landmarks, if any
    crop: Crop | None = None  # None: the whole photo, squashed
    key: int = 0  # identity of the pixels, for caching the encoder's output
    roll: float = 0.0  # degrees the photo is turned about the crop's centre to level the eyes
    searched: bool = False  # the face has been looked for (face None then means: none found)

    @classmethod
    def from_image(cls, im: Image.Image, path: str | None = None, detect: bool = True) -> "Photo":
        im = im.convert("RGB")
        face = find_face(im) if detect else None
        framing = auto_framing(im, face)
        return cls(im, path, face, framing.box, next(_keys), framing.roll, searched=detect)

    def detected(self, keep_crop: bool = False) -> "Photo":
        """The same pixels with the face found and (unless keep_crop) the automatic crop applied."""
        face = find_face(self.image)
        if keep_crop:
            return replace(self, face=face, searched=True)
        framing = auto_framing(self.image, face)
        return replace(self, face=face, crop=framing.box, roll=framing.roll, searched=True)

    def with_crop(self, crop: Crop | None, clamp: bool = True, roll: float | None = None) -> "Photo":
        """A user's crop is clamped; a stored one (reproducing a sketch) is taken as it is.
        roll: the crop's turn (None: keep the photo's)."""
        if crop is not None:
            crop = tuple(int(v) for v in crop)
            crop = clamp_crop(crop, self.image.size) if clamp else crop
        return replace(self, crop=crop, roll=self.roll if roll is None else float(roll))

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def auto(self) -> Crop:
        return auto_crop(self.image, self.face)

    @property
    def auto_roll(self) -> float:
        return auto_framing(self.image, self.face).roll

    @property
    def framing(self) -> Framing | None:
        return None if self.crop is None else Framing(self.crop, self.roll)

    def framed(self) -> Image.Image:
        """What the model sees, before resizing."""
        return self.image if self.crop is None else self.framing.crop(self.image)

    def tensor(self, size: int) -> "torch.Tensor":
        return photo_tensor(self.framed(), size)  # (1, 3, size, size)

    @property
    def cache_key(self) -> tuple:
        return (self.key, self.crop, self.roll)
