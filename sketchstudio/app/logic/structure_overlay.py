"""What the window overlays to show what the model is told about a photo: the face's part lines
(in the photo's pixels) and the person mask over the framed square; Qt-free."""
from __future__ import annotations

import numpy as np

from ...core.face_structure import Face, default_models
from .photo import Photo

MASK_SIDE = 256  # the mask overlay's pixels (it is scaled to the crop square on screen)
MASK_RGBA = (90, 170, 255, 90)  # tint where the person is


def overlay_parts(face: Face) -> dict[str, np.ndarray]:
    """Each part's line segments (S, 2, 2) in the photo's pixels."""
    return default_models().part_segments(face)


def person_mask_rgba(photo: Photo) -> np.ndarray:
    """(MASK_SIDE, MASK_SIDE, 4) uint8: the person mask of the framed square as a tint."""
    framed = np.asarray(photo.framed().convert("RGB").resize((MASK_SIDE, MASK_SIDE)))
    mask = default_models().person_mask(framed, MASK_SIDE)  # (S, S) in [0, 1]
    out = np.zeros((MASK_SIDE, MASK_SIDE, 4), np.uint8)
    out[..., :3] = MASK_RGBA[:3]
    out[..., 3] = np.round(mask * MASK_RGBA[3]).astype(np.uint8)
    return np.ascontiguousarray(out)
