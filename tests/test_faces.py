"""Face preparation on the odd image kinds users bring."""
import io

import numpy as np
import pytest
from PIL import Image

from sketchstudio.core.imaging import ImageLoadError, load_image
from sketchstudio.data.faces import Framing, crop_face
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


def test_a_crop_past_the_edge_is_padded_with_edge_pixels():
    im = face_photo(0, 64)
    crop = Framing((40, 5, 80, 45)).crop(im)  # partly outside on the right
    a, src = np.asarray(crop), np.asarray(im)
    assert crop.size == (40, 40)
    assert (a[:, :24] == src[5:45, 40:64]).all()  # inside: the pixels themselves
    assert (a[:, 24:] == src[5:45, 63:64]).all()  # outside: the last column repeated


def test_a_turned_crop_keeps_its_size_and_a_zero_turn_is_a_plain_cut():
    im = face_photo(0, 64)
    assert np.array_equal(np.asarray(Framing((8, 8, 56, 56), 0.0).crop(im)), np.asarray(im)[8:56, 8:56])
    turned = Framing((8, 8, 56, 56), 30.0).crop(im)
    assert turned.size == (48, 48) and not np.array_equal(np.asarray(turned), np.asarray(im)[8:56, 8:56])


def test_no_face_frames_the_centre_square():
    im = Image.new("RGB", (120, 60), (90, 90, 90))
    crop, face, framing = crop_face(im)
    assert face is None and framing == Framing((30, 0, 90, 60), 0.0) and crop.size == (60, 60)
