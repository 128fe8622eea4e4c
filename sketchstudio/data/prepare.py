"""Photo file -> model input: load, frame (face crop or whole photo), resize."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ..core.imaging import load_image, photo_tensor
from .faces import Face, Framing, crop_face

CROPS = ("face", "none")
NO_FACE = "no face found; sketching the centre square"


@dataclass
class PreparedPhoto:
    original_size: tuple[int, int]  # (W, H) of the photo as loaded (EXIF applied)
    framed: Image.Image  # what the model sees, before resizing
    tensor: torch.Tensor  # (1, 3, S, S) in [0, 1]
    face: Face | None  # the face found (landmarks in the photo's pixels); None with crop "none" or no face
    warning: str | None = None
    framing: Framing | None = None  # the crop (box and roll) with crop "face"; None: the whole photo

    def crop_settings(self) -> dict:
        """What a sketch PNG records of the crop: crop_box [x0, y0, x1, y1] in the photo's
        pixels and crop_roll, the degrees the photo was turned to level the eyes."""
        if self.framing is None:
            return {}
        return {"crop_box": list(self.framing.box), "crop_roll": self.framing.roll}


def prepare_image(im: Image.Image, size: int, crop: str = "face") -> PreparedPhoto:
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}")
    if crop == "none":
        # The whole photo, squashed to a square; outputs are resized back to the photo's size.
        return PreparedPhoto(im.size, im, photo_tensor(im, size), None)
    framed, face, framing = crop_face(im)
    return PreparedPhoto(im.size, framed, photo_tensor(framed, size), face, None if face else NO_FACE, framing)


def prepare_photo(path, size: int, crop: str = "face") -> PreparedPhoto:
    return prepare_image(load_image(path), size, crop)
