"""The face-structure module (core/face_structure.py): MediaPipe's face models through LiteRT,
the landmark framing, the structure map and where it travels (training caches and packs)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from sketchstudio.core.face_structure import (
    CHANNELS, MODEL_FILES, PARTS_FILE, FaceModelError, FaceModels, Framing, default_models, face_framing,
    models_dir, structure_maps,
)
from sketchstudio.paths import resources_dir

SAMPLE = resources_dir() / "sample_face.png"
FS2K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fs2k-train"


@pytest.fixture(scope="module")
def models() -> FaceModels:
    return default_models()


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return np.asarray(Image.open(SAMPLE).convert("RGB"))


def part_centre(models, face, name: str) -> np.ndarray:
    sets = json.loads((models.folder / PARTS_FILE).read_text())["sets"]
    idx = sorted({i for e in sets[name] for i in e})
    return face.landmarks[idx].mean(axis=0)


def test_finds_the_sample_face_with_its_landmarks_inside_the_face(models, sample):
    face = models.analyse(sample)
    assert face is not None and face.detection.score > 0.5 and face.presence > 0.9
    assert face.landmarks.shape == (468, 2)
    x0, y0, x1, y1 = face.detection.box
    pad = 0.15 * (x1 - x0)  # the mesh reaches the forehead, a little past the detector's box
    inside = ((face.landmarks[:, 0] > x0 - pad) & (face.landmarks[:, 0] < x1 + pad)
              & (face.landmarks[:, 1] > y0 - pad) & (face.landmarks[:, 1] < y1 + pad))
    assert inside.all()
    # Parts where a face has them: eyes above the lips, the chin lowest.
    assert part_centre(models, face, "LEFT_EYE")[1] < part_centre(models, face, "LIPS")[1] < face.landmarks[152, 1]


def test_left_and_right_parts_swap_when_the_photo_is_mirrored(models, sample):
    face = models.analyse(sample)
    flipped = models.analyse(np.ascontiguousarray(sample[:, ::-1]))
    w = sample.shape[1]
    for a, b in (("LEFT_EYE", "RIGHT_EYE"), ("LEFT_EYEBROW", "RIGHT_EYEBROW")):
        mirrored = part_centre(models, face, a) * (-1, 1) + (w, 0)
        assert np.linalg.norm(part_centre(models, flipped, b) - mirrored) < 0.05 * face.height
    assert abs(flipped.roll + face.roll) < 2.0


@pytest.mark.parametrize("image", [
    np.zeros((300, 300, 3), np.uint8),  # blank
    np.full((8, 8, 3), 128, np.uint8),  # tiny
    np.full((6000, 9000, 3), 200, np.uint8),  # huge and empty
], ids=["blank", "tiny", "huge"])
def test_images_without_a_face_give_no_face(models, image):
    assert models.analyse(image) is None


def test_a_sixteen_bit_photo_is_read_as_eight_bit(models, sample):
    grey = np.asarray(Image.fromarray(sample).convert("L"), dtype=np.uint16) * 257
    face = models.analyse(Image.fromarray(grey))  # PIL mode I;16
    assert face is not None


def test_an_unusable_array_is_a_clear_error(models):
    with pytest.raises(ValueError, match="RGB uint8"):
        models.analyse(np.zeros((64, 64), np.float32))


def test_a_turned_photo_is_framed_level(models, sample):
    h, w = sample.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)  # counter-clockwise on screen
    turned = cv2.warpAffine(sample, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    face = models.analyse(turned)
    assert face is not None and abs(face.roll + 30) < 4
    framing = face_framing(face)
    crop = np.asarray(framing.crop(Image.fromarray(turned)))
    again = models.analyse(crop)
    assert again is not None and abs(again.roll) < 3  # the crop has the eyes level
    assert framing.crop(Image.fromarray(turned)).size == (framing.box[2] - framing.box[0],) * 2


def test_the_map_is_deterministic_at_any_size(models, sample):
    face = models.analyse(sample)
    side = 256
    framing = face_framing(face)
    square = np.asarray(framing.crop(Image.fromarray(sample)).resize((side, side)))
    inside = face.transformed(framing.matrix(side))
    mask = models.person_mask(square, side)
    for size in (16, 64, 257, 1024):
        a = models.structure_map(inside, mask, side, size)
        b = models.structure_map(inside, mask, side, size)
        assert a.shape == (len(CHANNELS), size, size) and a.dtype == np.float32 and np.array_equal(a, b)
        assert 0 <= a.min() and a.max() <= 1
        assert all(a[c].max() > 0.3 for c in range(len(CHANNELS))), size  # every part drawn, the person found
    no_face = models.structure_map(None, mask, side, 64)
    assert not no_face[:-1].any() and no_face[-1].max() > 0.5


def test_the_jaw_channel_follows_the_jaw(models, sample):
    face = models.analyse(sample)
    jaw = models.part_segments(face)["jaw"]
    assert len(jaw) > 10
    assert jaw[..., 1].min() > face.eye_centre[1]  # the face oval below the eye line only
    assert abs(jaw[..., 1].max() - face.landmarks[152, 1]) < 0.05 * face.height  # down to the chin


def test_structure_maps_from_a_photo_batch(sample):
    photo = torch.from_numpy(np.array(Image.fromarray(sample).resize((128, 128)))).permute(2, 0, 1)[None] / 255.0
    maps = structure_maps(torch.cat([photo, torch.zeros_like(photo)]), 32)
    assert maps.shape == (2, len(CHANNELS), 32, 32)
    assert maps[0, :-1].amax() > 0.3  # a face
    assert not maps[1, :-1].any() and maps[1, -1].max() < 0.01  # a black square: no face, no person


@pytest.mark.parametrize("damage", ["missing", "truncated", "altered"])
def test_a_missing_or_damaged_model_file_is_a_clear_error_naming_it(tmp_path, damage):
    for name in [*MODEL_FILES, PARTS_FILE]:
        shutil.copy(models_dir() / name, tmp_path / name)
    victim = tmp_path / "face_landmark.tflite"
    if damage == "missing":
        victim.unlink()
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:1000])
    else:
        data = bytearray(victim.read_bytes())
        data[5000] ^= 0xFF
        victim.write_bytes(bytes(data))
    with pytest.raises(FaceModelError, match="face_landmark.tflite"):
        FaceModels(tmp_path)


def test_a_damaged_part_index_file_is_a_clear_error(tmp_path):
    for name in MODEL_FILES:
        shutil.copy(models_dir() / name, tmp_path / name)
    (tmp_path / PARTS_FILE).write_text("{not json")
    with pytest.raises(FaceModelError, match=PARTS_FILE):
        FaceModels(tmp_path)


def test_framing_matrix_maps_the_box_onto_the_square():
    f = Framing((10, 20, 110, 120), 0.0)
    m = f.matrix(50)
    corners = np.array([[10, 20], [110, 120]]) @ m[:, :2].T + m[:, 2]
    assert np.allclose(corners, [[0, 0], [50, 50]])


@pytest.mark.shared_data
def test_fs2k_photos_are_found(models):
    photos = sorted((FS2K / "photos").glob("photo*/*.jpg"))[:: 50] if FS2K.is_dir() else []
    if not photos:
        pytest.skip("../shared/data/fs2k-train is not here")
    found = [models.analyse(Image.open(p)) is not None for p in photos]
    assert sum(found) >= len(found) - 1
