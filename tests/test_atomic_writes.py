"""A full disk or a read-only folder halfway through a write: the old file stays whole, no
temporary file is left, and the user reads one line (CLI: stderr and an exit code; app: a box).

We run as root, where chmod blocks nothing, so failures are made by patching the writers."""
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from safetensors import SafetensorError

from sketchstudio.app.logic.settings import AppSettings
from sketchstudio.cli import main as cli_main
from sketchstudio.core import checkpoint
from sketchstudio.core.checkpoint import TEMP_SUFFIX, atomic_write, load_model, remove_stale_temps, save_model
from sketchstudio.core.imaging import read_png_text, save_png

from app_fixtures import SAMPLE, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from conftest import make_tiny
from datagen import make_photo_folder

FULL = (errno.ENOSPC, "No space left on device")
READ_ONLY = (errno.EROFS, "Read-only file system")
DENIED = (errno.EACCES, "Permission denied")


def temps(folder) -> list[str]:
    return [p.name for p in Path(folder).rglob(f"*{TEMP_SUFFIX}")]


def fail_halfway(code):
    """A write that gets half its bytes onto the disk, then fails as a full disk does."""
    def write(tmp, data=b"x" * 10000):
        with open(tmp, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(code, os.strerror(code))
    return write


def pil_fails_halfway(monkeypatch, code=errno.ENOSPC):
    """Pillow's save writes half the encoded file, then raises OSError(code)."""
    real = Image.Image.save

    def save(self, fp, format=None, **params):
        buf = io.BytesIO()
        real(self, buf, format=format or "PNG", **params)
        with open(fp, "wb") as f:
            f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Image.Image, "save", save)


def text_fails_halfway(monkeypatch):
    """Path.write_text (the settings file's writer) writes half, then finds the disk full."""
    real = Path.write_text

    def write_text(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", write_text)


def folder_refuses_files(monkeypatch, code=errno.EROFS):
    """A read-only (or forbidden) folder: creating the temporary file fails."""
    def mkstemp(*args, dir=None, prefix="", suffix="", **kwargs):
        raise OSError(code, os.strerror(code), os.path.join(dir, f"{prefix}abc{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# --- atomic_write ----------------------------------------------------------------------------
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO])
def test_a_write_failing_halfway_keeps_the_old_file(tmp_path, code):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old contents")
    with pytest.raises(OSError) as err:
        atomic_write(target, fail_halfway(code))
    # The error names the target, not the hidden temporary file; PermissionError stays one.
    assert err.value.errno == code and err.value.filename == str(target) and err.value.strerror
    assert isinstance(err.value, PermissionError) == (code == errno.EACCES)
    assert target.read_bytes() == b"old contents" and temps(tmp_path) == []


def test_a_read_only_folder_names_the_target(tmp_path, monkeypatch):
    folder_refuses_files(monkeypatch)
    with pytest.raises(OSError) as err:
        atomic_write(tmp_path / "f.bin", lambda tmp: None)
    assert (err.value.errno, err.value.filename) == (errno.EROFS, str(tmp_path / "f.bin"))


def test_a_failing_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def replace(src, dst):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        atomic_write(target, lambda tmp: Path(tmp).write_bytes(b"new"))
    assert target.read_bytes() == b"old" and temps(tmp_path) == []


def test_a_bug_in_the_writer_is_not_disguised(tmp_path):
    with pytest.raises(ZeroDivisionError):
        atomic_write(tmp_path / "f.bin", lambda tmp: 1 / 0)
    assert temps(tmp_path) == []


def test_safetensors_full_disk_becomes_an_oserror(tmp_path, monkeypatch):
    """safetensors (Rust) reports a full disk as SafetensorError, which `sketchstudio train` did
    not catch: a traceback. atomic_write turns it into OSError(ENOSPC) naming the file."""
    target = tmp_path / "m.safetensors"
    save_model(make_tiny(0), target, info={"v": "old"})
    old = target.read_bytes()
    real = checkpoint.save_file

    def save_file(tensors, path, metadata=None):
        real(tensors, path, metadata=metadata)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", save_file)
    with pytest.raises(OSError) as err:
        save_model(make_tiny(1), target, info={"v": "new"})
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(target))
    assert target.read_bytes() == old and load_model(target)[1] == {"v": "old"} and temps(tmp_path) == []


def test_remove_stale_temps_takes_only_atomic_write_leftovers(tmp_path):
    for name in (".m.safetensors.x1y2.tmp", ".settings.json.abc.tmp", "keep.tmp", "m.safetensors", ".hidden"):
        (tmp_path / name).write_bytes(b"")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == [".m.safetensors.x1y2.tmp", ".settings.json.abc.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "keep.tmp", "m.safetensors"]


def test_save_png_full_disk_keeps_the_old_png(tmp_path, monkeypatch):
    target = tmp_path / "s.png"
    save_png(Image.new("L", (8, 8), 7), target, {"k": "old"})
    old = target.read_bytes()
    pil_fails_halfway(monkeypatch)
    with pytest.raises(OSError) as err:
        save_png(Image.new("L", (8, 8), 200), target, {"k": "new"})
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(target))
    assert target.read_bytes() == old and read_png_text(target) == {"k": "old"} and temps(tmp_path) == []


# --- CLI -------------------------------------------------------------------------------------
def cli_sketch(photo, out, model, *extra):
    return cli_main(["sketch", str(photo), "--out", str(out), "--model", str(model), "--steps", "3", "--crop", "none",
                     "-q", *extra])


def one_error_line(capsys) -> str:
    """The one error line on stderr (warnings and progress lines may surround it)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("extra", [(), ("--save-steps",)], ids=["sketch", "save-steps"])
@pytest.mark.parametrize("problem", [FULL, READ_ONLY, DENIED], ids=["full", "read-only", "denied"])
def test_cli_sketch_cannot_write(tiny_checkpoint, make_photo, tmp_path, monkeypatch, capsys, extra, problem):
    """--save-steps had no handler: a full disk while writing a step was a traceback."""
    photo, out = make_photo("face.png"), tmp_path / "out"
    assert cli_sketch(photo, out, tiny_checkpoint) == 0
    old = (out / "face.png").read_bytes()
    capsys.readouterr()
    code, text = problem
    if code == errno.ENOSPC:
        pil_fails_halfway(monkeypatch, code)
    else:
        folder_refuses_files(monkeypatch, code)
    assert cli_sketch(photo, out, tiny_checkpoint, *extra) == 1
    line = one_error_line(capsys)
    assert line.startswith("error:") and text in line and str(out) in line and TEMP_SUFFIX not in line
    assert (out / "face.png").read_bytes() == old and temps(out) == []


def test_cli_sketch_output_folder_cannot_be_made(tiny_checkpoint, make_photo, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == out:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert cli_sketch(make_photo("face.png"), out, tiny_checkpoint) == 2
    line = one_error_line(capsys)
    assert line.startswith("sketchstudio: error:") and str(out) in line and "Permission denied" in line


def test_cli_train_full_disk_at_a_checkpoint(tmp_path, monkeypatch, capsys):
    """Was a SafetensorError traceback; now one line, exit 2, the last good checkpoint kept."""
    from sketchstudio.train import state

    photos = make_photo_folder(tmp_path / "photos", n=2, size=40)
    out = tmp_path / "run"
    args = ["train", "tokenizer", "--data", str(photos), "--out", str(out), "--config", "tiny",
            "--max-steps", "6", "--batch", "2", "--checkpoint-every", "2", "-q"]
    real, calls = state.save_file, []

    def save_file(tensors, path, metadata=None):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint: the disk is full
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        real(tensors, path, metadata=metadata)

    monkeypatch.setattr(state, "save_file", save_file)
    assert cli_main(args) == 2
    line = one_error_line(capsys)
    assert line == f"sketchstudio: error: {out / 'tokenizer.state.safetensors'}: No space left on device"
    assert temps(out) == [] and not (out / "tokenizer.safetensors").exists()
    monkeypatch.setattr(state, "save_file", real)
    assert cli_main(args + ["--resume"]) == 0  # the step-2 checkpoint survived
    assert "resuming at step 2" in capsys.readouterr().err
    load_model(out / "tokenizer.safetensors")


# --- the app ---------------------------------------------------------------------------------
def sketched(qtbot, win):
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        assert win.open_path(SAMPLE)
    settle(qtbot, win.studio)
    return win


@pytest.mark.parametrize("problem", [FULL, READ_ONLY], ids=["full", "read-only"])
def test_app_exports_cannot_write(qtbot, window, tmp_path, monkeypatch, boxes, problem):
    sketched(qtbot, window)
    out = tmp_path / "exports"
    exports = {"png": window.exports.export_png, "gif": window.exports.export_gif,
               "sweep": lambda p: window.exports.export_sweep(p, count=2)}
    for name, export in exports.items():
        assert export(out / f"{name}.{'gif' if name == 'gif' else 'png'}")
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    code, text = problem
    if code == errno.ENOSPC:
        pil_fails_halfway(monkeypatch, code)
    else:
        folder_refuses_files(monkeypatch, code)
    for name, export in exports.items():
        target = out / f"{name}.{'gif' if name == 'gif' else 'png'}"
        n = len(boxes.errors)
        assert export(target) is False
        assert len(boxes.errors) == n + 1
        title, message = boxes.errors[-1]
        assert title.startswith("Cannot write") and "\n" not in message and "Traceback" not in message
        assert str(target) in message and text in message and TEMP_SUFFIX not in message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old and temps(out) == []


def test_app_batch_on_a_full_disk(qtbot, window, tmp_path, monkeypatch, boxes):
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(SAMPLE, src / "one.png")
    pil_fails_halfway(monkeypatch)
    assert window.exports.batch_sketch(src, tmp_path / "out") is False
    kind, _, text = boxes.shown[-1]
    assert "Wrote 0" in text and f"{tmp_path / 'out' / 'one.png'}: cannot write (No space left on device)" in text
    assert "Traceback" not in text and temps(tmp_path) == []


def test_settings_file_on_a_full_disk(tmp_path, monkeypatch):
    path = tmp_path / "cfg" / "settings.json"
    AppSettings(path=path, last_dir="/old", recent_files=["/a.png"]).save()
    old = path.read_bytes()
    text_fails_halfway(monkeypatch)
    with pytest.raises(OSError) as err:
        AppSettings(path=path, last_dir="/new").save()
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(path))
    assert path.read_bytes() == old and temps(path.parent) == []
    assert AppSettings.load(path).last_dir == "/old"


@pytest.mark.parametrize("problem", [FULL, READ_ONLY], ids=["full", "read-only"])
def test_app_says_when_it_cannot_save_its_settings(window, tmp_path, monkeypatch, boxes, problem):
    """Was a line on stderr only: the user never learnt the settings were lost."""
    window.save_settings()
    path = window.settings.path
    old = path.read_bytes()
    window.settings.last_dir = "/somewhere/else"
    code, text = problem
    if code == errno.ENOSPC:
        text_fails_halfway(monkeypatch)
    else:
        folder_refuses_files(monkeypatch, code)
    window.save_settings()
    title, message = boxes.errors[-1]
    assert title == "Cannot save the settings" and message == f"{path}: {text}"
    assert path.read_bytes() == old and temps(path.parent) == []
