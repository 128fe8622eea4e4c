"""Shared fixtures: the `tiny` model (builds in milliseconds), a checkpoint of it, small photos."""
import os

# Qt aborts the process without a display unless told to draw offscreen; set it before
# anything (pytest-qt included) can create a QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from sketchstudio.core import build_model, preset  # noqa: E402
from sketchstudio.core.checkpoint import save_model  # noqa: E402


def make_tiny(seed: int = 0):
    """The tiny preset with weights drawn under `seed` (eval mode)."""
    torch.manual_seed(seed)
    return build_model(preset("tiny"))


@pytest.fixture
def tiny_model():
    return make_tiny(0)


@pytest.fixture
def tiny_photo(tiny_model):
    """(1, 3, S, S) in [0, 1] at the tiny model's photo size."""
    g = torch.Generator().manual_seed(1)
    return torch.rand(1, 3, tiny_model.photo_size, tiny_model.photo_size, generator=g)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Path to a saved tiny model (session-wide: treat it as read-only)."""
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(make_tiny(0), path, info={"note": "test model"})
    return path


@pytest.fixture
def make_photo(tmp_path):
    """Factory: make_photo(name, size=(W, H), mode="RGB") -> path of a small patterned image."""

    def make(name: str, size=(40, 50), mode: str = "RGB"):
        w, h = size
        im = Image.new("RGB", (w, h))
        im.putdata([((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256) for y in range(h) for x in range(w)])
        if mode == "RGBA":
            im = im.convert("RGBA")
            im.putalpha(Image.linear_gradient("L").resize((w, h)))
        else:
            im = im.convert(mode)
        path = tmp_path / name
        im.save(path)
        return path

    return make
