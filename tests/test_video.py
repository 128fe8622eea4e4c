"""`sketchstudio video`: a short synthetic clip made with PyAV goes in and comes out sketched,
with its sound; a damaged file is one line of error and leaves nothing behind."""
import re
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from app_fixtures import SAMPLE
from sketchstudio import cli
from sketchstudio.app.logic.decode_job import SketchSpec
from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.sampler_settings import CancelToken, SamplerSettings
from sketchstudio.data.video import VideoError, read_frames
from sketchstudio.video import sketch_video

FRAMES, RATE = 10, 10


def make_clip(path, frames=FRAMES, sound=True, size=(160, 120), move=1):
    """An MP4 of the sample face drifting `move` px a frame across a wall, with AAC sine tone."""
    face = Image.open(SAMPLE).convert("RGB").resize((70, 70))
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=RATE)
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        a = out.add_stream("aac", rate=22050) if sound else None
        for i in range(frames):
            im = Image.new("RGB", size, (120, 118, 112))
            im.paste(face, (40 + move * i, 25))
            for packet in v.encode(av.VideoFrame.from_image(im)):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            t = np.arange(22050 * frames // RATE) / 22050
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]  # (1, samples)
            frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 22050, 0, Fraction(1, 22050)
            for packet in a.encode(frame):
                out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        n = sum(1 for _ in c.decode(v))
        return n, (v.codec_context.width, v.codec_context.height), len(c.streams.audio), v.codec_context.name


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_clip_round_trips_to_mp4_with_its_sound(tmp_path, tiny_checkpoint, capsys):
    clip = make_clip(tmp_path / "clip.mp4", move=0)
    out = tmp_path / "out" / "sketched.mp4"
    assert cli.main(["video", str(clip), "--out", str(out), "--model", str(tiny_checkpoint), "--style", "contour"]) == 0
    n, size, audio, codec = probe(out)
    assert (n, size, audio, codec) == (FRAMES, (512, 512), 1, "h264")
    err = capsys.readouterr().err
    assert f"wrote {FRAMES} frames" in err and "sound kept" in err
    assert re.search(r"\(still \d+, .*scratch 1\)", err)  # a still face: drawn once, then reused
    first = next(read_frames(out))
    a = np.asarray(first.convert("L"), dtype=np.float64)
    assert a.std() > 0  # a drawing, not one grey
    assert leftovers(out.parent) == []


def test_a_clip_to_gif(tmp_path, tiny_checkpoint):
    clip = make_clip(tmp_path / "clip.mp4", frames=4, sound=False)
    out = tmp_path / "sketched.gif"
    assert cli.main(["video", str(clip), "--out", str(out), "--model", str(tiny_checkpoint), "-q"]) == 0
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == 4 and im.size == (512, 512)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing"])
def test_a_damaged_video_is_one_line_and_leaves_nothing(tmp_path, tiny_checkpoint, capsys, damage):
    bad = tmp_path / "bad.mp4"
    if damage == "garbage":
        bad.write_bytes(np.random.default_rng(0).bytes(5000))
    elif damage == "truncated":
        good = make_clip(tmp_path / "good.mp4").read_bytes()
        bad.write_bytes(good[:300])  # the header cut short
    elif damage == "empty":
        bad.write_bytes(b"")
    out = tmp_path / "out.mp4"
    assert cli.main(["video", str(bad), "--out", str(out), "--model", str(tiny_checkpoint), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sketchstudio: error: ") and "\n" not in err and "bad.mp4" in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_stop_finishes_the_frames_so_far(tmp_path, tiny_checkpoint):
    model, _ = load_model(tiny_checkpoint)
    clip = make_clip(tmp_path / "clip.mp4")
    cancel = CancelToken()

    def progress(done, total):
        assert total == FRAMES
        if done == 3:
            cancel.cancel()  # as Ctrl+C does

    spec = SketchSpec((1.0,) + (0.0,) * (len(model.styles) - 1), SamplerSettings(steps=2))
    report = sketch_video(model, spec, clip, tmp_path / "part.mp4", 512, cancel, progress)
    assert report.stopped and report.frames == 3 and report.audio
    assert probe(tmp_path / "part.mp4")[0] == 3


def test_an_unknown_output_format_is_refused(tmp_path, tiny_checkpoint, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=2, sound=False)
    assert cli.main(["video", str(clip), "--out", str(tmp_path / "x.avi"), "--model", str(tiny_checkpoint)]) == 2
    assert ".mp4 or .gif" in capsys.readouterr().err


def test_reading_a_folder_is_a_video_error(tmp_path):
    with pytest.raises(VideoError, match="folder"):
        next(read_frames(tmp_path))
