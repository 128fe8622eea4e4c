"""Face preparation on the odd image kinds users bring."""
import io

import numpy as np
import pytest
from PIL import Image

from sketchstudio.core.imaging import ImageLoadError, load_image
from sketchstudio.data.faces import Box, crop_face, face_crop_box
from sketchstudio.data.prepare import prepare_photo
from datagen import face_photo


def save(im, path, **kw):
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "LA", "I;16", "1"])
def test_modes_load_as_rgb(tmp_path, mode):
    base = face_photo(0, 64)
    if mode == "I;16":
        a = (np.asarray(base.convert("L"), dtype=np.uint16) * 257)
        im = Image.fromarray(a)
        path = save(im, tmp_path / "x.png")
    elif mode == "CMYK":
        path = save(base.convert("CMYK"), tmp_path / "x.jpg")
    elif mode == "P":
        im = base.convert("P", palette=Image.ADAPTIVE)
        im.info["transparency"] = 0
        path = save(im, tmp_path / "x.png", transparency=0)
    else:
        path = save(base.convert(mode), tmp_path / "x.png")
    rgb = load_image(path)
    assert rgb.mode == "RGB" and rgb.size == (64, 64)
    prep = prepare_photo(path, 32, crop="face")
    assert prep.tensor.shape == (1, 3, 32, 32)


def test_sixteen_bit_keeps_its_range(tmp_path):
    a = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = save(Image.fromarray(a), tmp_path / "g.png")
    g = np.asarray(load_image(path).convert("L"))
    assert g.min() < 5 and g.max() > 250  # scaled, not clipped to white


def test_alpha_goes_on_white(tmp_path):
    im = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    rgb = load_image(save(im, tmp_path / "t.png"))
    assert np.asarray(rgb).min() == 255


def test_exif_orientation_is_applied(tmp_path):
    im = face_photo(0, 64).resize((80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "r.jpg"
    im.save(path, exif=exif.tobytes())
    assert load_image(path).size == (40, 80)


def test_one_pixel_image_falls_back_to_centre_crop(tmp_path):
    path = save(Image.new("RGB", (1, 1), (10, 20, 30)), tmp_path / "one.png")
    prep = prepare_photo(path, 32, crop="face")
    assert prep.face is None and prep.warning and prep.tensor.shape == (1, 3, 32, 32)


@pytest.mark.slow
def test_huge_image_is_handled(tmp_path):
    path = save(Image.new("L", (10_000, 10_000), 200), tmp_path / "huge.png")
    prep = prepare_photo(path, 32, crop="face")
    assert prep.original_size == (10_000, 10_000) and prep.tensor.shape == (1, 3, 32, 32)


def test_no_face_gives_centre_crop_and_warning(tmp_path):
    path = save(Image.new("RGB", (120, 60), (90, 90, 90)), tmp_path / "wall.png")
    prep = prepare_photo(path, 32, crop="face")
    assert prep.face is None and "no face" in prep.warning
    assert prep.framed.size == (60, 60)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_unreadable_files_give_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError) as exc:
        load_image(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    face_photo(0, 64).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.png")


def test_crop_box_frames_head_and_shoulders_and_pads_outside():
    im = face_photo(0, 64)
    box = Box(40, 5, 30, 30)  # partly outside on the right
    l, t, r, b = face_crop_box(im, box)
    assert r - l == b - t and r - l > box.w  # square, larger than the face
    crop, used = crop_face(im, box)
    assert used == box and crop.size == (r - l, b - t)
