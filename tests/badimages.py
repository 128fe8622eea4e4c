"""A corpus of bad and odd image inputs (issue #7): `write_corpus(folder)` -> {case: path}.

Every file is tiny except `huge` (10,000 x 10,000), a hand-written greyscale PNG whose rows
repeat, so it costs ~0.3 s to write once per session and compresses to ~100 kB. `bomb` is a
PNG header claiming far more pixels than Pillow allows, with almost no data behind it.
Cases in UNREADABLE must be refused with a one-line reason; every other case must work.
"""
from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from datagen import face_photo
from sketchstudio.paths import resources_dir

CASES = ("empty", "truncated_jpeg", "text_as_jpg", "png_named_jpg", "one_pixel", "bomb", "huge", "cmyk_jpeg",
         "png16", "palette_transparent", "exif_rotated", "animated_gif", "greyscale", "no_face", "several_faces",
         "non_ascii", "long_name", "longest_name", "deleted")
UNREADABLE = frozenset({"empty", "truncated_jpeg", "text_as_jpg", "bomb", "deleted"})
HUGE_SIDE = 10_000
BOMB_SIDE = 30_000  # 9e8 pixels: over twice Image.MAX_IMAGE_PIXELS (~8.9e7), so Pillow refuses it


def loaded_size(case: str) -> tuple[int, int]:
    """(W, H) a readable case loads at, EXIF orientation applied."""
    return {"huge": (HUGE_SIDE, HUGE_SIDE), "one_pixel": (1, 1), "exif_rotated": (40, 80), "no_face": (120, 60),
            "several_faces": (720, 460)}.get(case, (64, 64))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _grey_png(width: int, height: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@functools.lru_cache(maxsize=1)
def huge_png() -> bytes:
    """HUGE_SIDE^2 grey PNG: a gradient first row (filter None), then rows that repeat it (filter Up)."""
    side = HUGE_SIDE
    first = b"\x00" + (np.arange(side) * 256 // side).astype(np.uint8).tobytes()
    same = b"\x02" + bytes(side)  # filter Up, zero differences: the row above again
    z = zlib.compressobj(9)
    parts = [z.compress(first)]
    block = same * 1000
    for _ in range((side - 1) // 1000):
        parts.append(z.compress(block))
    parts.append(z.compress(same * ((side - 1) % 1000)))
    parts.append(z.flush())
    return _grey_png(side, side, b"".join(parts))


def bomb_png() -> bytes:
    assert BOMB_SIDE ** 2 > 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return _grey_png(BOMB_SIDE, BOMB_SIDE, zlib.compress(bytes(BOMB_SIDE + 1)))  # one row of data


def _jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def _several_faces() -> Image.Image:
    """The sample face twice, the left one larger (the detector must return it first)."""
    with Image.open(resources_dir() / "sample_face.png") as sample:
        face = sample.convert("RGB")  # 360 x 440
    im = Image.new("RGB", (720, 460), (200, 200, 200))
    im.paste(face, (0, 10))
    im.paste(face.resize((216, 264)), (460, 100))
    return im


def write_corpus(folder, skip=()) -> dict[str, Path]:
    """Write every case (but those in `skip`) into `folder`; {case: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    face = face_photo(0, 64)
    cases: dict[str, Path] = {}

    def put(case: str, name: str, data: bytes | Image.Image, **save) -> None:
        if case in skip:
            return
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            data.save(path, **save)
        cases[case] = path

    put("empty", "empty.jpg", b"")
    whole = _jpeg(face)
    put("truncated_jpeg", "truncated.jpg", whole[: len(whole) // 2])
    put("text_as_jpg", "notes.jpg", b"shopping list: eggs, milk\n")
    put("png_named_jpg", "really-a-png.jpg", face, format="PNG")
    put("one_pixel", "one-pixel.png", Image.new("RGB", (1, 1), (10, 20, 30)))
    put("bomb", "bomb.png", bomb_png())
    if "huge" not in skip:
        put("huge", "huge.png", huge_png())
    put("cmyk_jpeg", "cmyk.jpg", face.convert("CMYK"))
    sixteen = (np.asarray(face.convert("L"), dtype=np.uint16) * 257)  # (64, 64) uint16
    put("png16", "sixteen-bit.png", Image.fromarray(sixteen))
    palette = face.convert("P", palette=Image.ADAPTIVE, colors=16)
    put("palette_transparent", "palette.png", palette, transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: 80 x 40 stored, 40 x 80 displayed
    put("exif_rotated", "rotated.jpg", face.resize((80, 40)), exif=exif.tobytes())
    frames = [face, face.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.new("RGB", (64, 64), "red")]
    put("animated_gif", "animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("greyscale", "grey.jpg", face.convert("L"))
    put("no_face", "wall.png", Image.new("RGB", (120, 60), (90, 90, 90)))
    put("several_faces", "two-faces.jpg", _several_faces())
    put("non_ascii", "Zoë-顔-😀 photo.png", face)
    put("long_name", "n" * 196 + ".jpg", _jpeg(face))  # 200 characters
    put("longest_name", "m" * 251 + ".png", face)  # 255 bytes: the longest name Linux allows
    if "deleted" not in skip:
        gone = folder / "deleted.jpg"
        gone.write_bytes(whole)
        gone.unlink()  # listed by the caller, gone by the time it is read
        cases["deleted"] = gone
    return cases

