"""`sketchstudio video IN --out OUT.mp4|.gif`: a video's face sketched frame by frame.

Each frame takes the webcam tab's path (app/logic/decode_job.py, live): the face found and
followed by the crop tracker, the last sketch reused where the face did not move and
re-drawn where it did (core/live.py). Every frame is sketched (none dropped, unlike a live
camera). The sound, where the input has one and the output is an MP4, is copied across
untouched. The output is written to a temporary file and renamed at the end: a damaged
input or a failed write leaves nothing under the output name. Ctrl+C stops at the next frame
and finishes the file with the frames sketched so far.
"""
from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .data.video import OUT_FORMATS, VideoError, VideoOut, decoded, open_video, video_info
from .model_files import OUTPUT_SIZES, UserError


@dataclass
class VideoReport:
    frames: int = 0  # frames sketched and written
    total: int | None = None  # frames the input says it has
    audio: bool = False  # its sound was copied
    audio_dropped: bool = False  # it had sound the output could not hold
    stopped: bool = False  # cancelled before the end
    paths: dict | None = None  # frames per live path (core/live.py PATHS)


def sketch_video(model, spec, src, out, size: int = 512, cancel=None,
                 progress: Callable[[int, int | None], None] | None = None, reuse: bool = True,
                 params=None) -> VideoReport:
    """Sketch every frame of `src` into `out` (.mp4 or .gif), `size` pixels square. spec: a
    SketchSpec (style, sampler settings). cancel: a CancelToken, checked between frames.
    reuse=False: every frame from scratch (the baseline the benchmark measures against);
    params: the live path's core.live.LiveParams (default: its defaults)."""
    from .app.logic.decode_job import DecodeJob, DecodeRequest, MemoryCache
    from .app.logic.face_tracking import CropTracker
    from .app.logic.photo import Photo
    from .core.files import atomic_write
    from .core.live import LiveParams, LiveStream
    from .core.sampler_settings import CancelToken

    src, out = Path(src), Path(out)
    fmt = OUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise VideoError(f"{out}: write .mp4 or .gif")
    cancel = cancel or CancelToken()
    container = open_video(src)
    info = video_info(container)
    report = VideoReport(total=info.frames)
    stream, tracker, cache = LiveStream(model.cfg.grid, params or LiveParams()), CropTracker(), MemoryCache(size=2)

    def write(tmp):
        audio = container.streams.audio[0] if info.audio else None
        sink = VideoOut(tmp, fmt, size, info.rate, audio)
        report.audio = sink.audio is not None
        report.audio_dropped = fmt == "mp4" and info.audio and sink.audio is None
        try:
            for im, seconds in decoded(container, src, sink.mux_audio if sink.audio is not None else None):
                if cancel.cancelled:
                    report.stopped = True
                    break
                req = DecodeRequest(Photo.from_image(im, detect=False), spec, detect=True, live=True,
                                    tracker=tracker, stream=stream if reuse else None, draw_size=(size, size),
                                    cancel=cancel)
                result = drain(DecodeJob(model, req, cache).run(cancel))
                if result is None:  # cancelled inside the frame
                    report.stopped = True
                    break
                if not reuse:
                    stream.counts["scratch"] += 1
                sink.write(result.sketch if result.sketch.shape == (size, size) else resized(result.sketch, size), seconds)
                report.frames += 1
                if progress is not None:
                    progress(report.frames, report.total)
            if report.frames == 0:
                raise VideoError("stopped before the first frame" if report.stopped else f"{src}: no frames could be read")
            sink.close()
        except BaseException:
            sink.abort()
            raise

    try:
        atomic_write(out, write)
    finally:
        container.close()
    report.paths = dict(stream.counts)
    return report


def resized(grey, size: int):
    """A from-scratch live sketch (drawn at the model's size) at the video's size."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.fromarray(grey, "L").resize((size, size), Image.BICUBIC))


def drain(gen):
    """Run a job generator to its end; its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def add_parser(sub, add_sampler_options) -> None:
    v = sub.add_parser("video", help="sketch a video's face frame by frame to MP4 or GIF (the sound kept in MP4)")
    v.add_argument("video", metavar="IN", help="a video file FFmpeg reads (mp4, mov, mkv, webm, avi, gif...)")
    v.add_argument("--out", required=True, help="the video to write: OUT.mp4 or OUT.gif")
    v.add_argument("--model", help="model .safetensors (default: the shipped model)")
    v.add_argument("--style", help="a style name, or a mix like contour=0.5,pencil=0.5")
    add_sampler_options(v)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--size", type=int, choices=OUTPUT_SIZES, default=OUTPUT_SIZES[0],
                   help=f"pixels on the sketch's side (default {OUTPUT_SIZES[0]})")
    v.add_argument("-q", "--quiet", action="store_true")
    v.set_defaults(func=cmd_video)


def cmd_video(args) -> int:
    from tqdm import tqdm

    from .app.logic.decode_job import SketchSpec
    from .app.logic.live_policy import live_settings
    from .core.sampler_settings import CancelToken
    from .core.styles import StyleError, parse_style
    from .model_files import load, sampler_settings

    if Path(args.out).suffix.lower() not in OUT_FORMATS:
        raise UserError(f"{args.out}: write .mp4 or .gif")
    model, info, _mid = load(args.model)
    try:
        weights = parse_style(args.style, model.styles)
        settings = live_settings(sampler_settings(args, info).with_(seed=args.seed))
    except (StyleError, ValueError) as exc:
        raise UserError(str(exc)) from None
    spec = SketchSpec(tuple(float(w) for w in weights), settings)
    bar = tqdm(unit="frame", disable=args.quiet, file=sys.stderr, desc=Path(args.video).name[:30])
    cancel = CancelToken()

    def on_interrupt(signum, frame):  # first Ctrl+C: finish the file so far; a second one aborts
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cancel.cancel()

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        report = sketch_video(model, spec, args.video, args.out, args.size, cancel, progress)
    except VideoError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{exc.filename or args.out}: cannot write ({exc.strerror or exc})") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if not args.quiet:
        sound = ("; its sound kept" if report.audio else
                 "; its sound left out (MP4 cannot hold its codec)" if report.audio_dropped else "")
        paths = ", ".join(f"{k} {v}" for k, v in (report.paths or {}).items() if v)
        head = f"stopped: wrote the first {report.frames} frames" if report.stopped else f"wrote {report.frames} frames"
        print(f"{head} to {args.out} ({paths}){sound}", file=sys.stderr)
    return 130 if report.stopped else 0
