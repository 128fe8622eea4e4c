"""Webcam crop steadiness: the crop centre's jitter over a still clip, with and without the tracker.

    .venv/bin/python tools/bench/bench_face_tracking.py [--frames 60] [--noise 4]

A "still clip": the sample face at a fixed place in a 640x480 frame, each frame with fresh
sensor noise (Gaussian, --noise grey levels) and a little JPEG-like blur, as a webcam gives a
face that does not move. For each frame the face is found and framed (data/faces.py), then
passed through the webcam's CropTracker (app/logic/face_tracking.py). Prints the crop centre's
standard deviation and largest step (pixels), the side's spread, and how many distinct crops
(so how many distinct model inputs) the clip gives, raw and tracked; then a clip where the
face moves 3 px a frame, to show that the tracker follows it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from sketchstudio.app.logic.face_tracking import CropTracker  # noqa: E402
from sketchstudio.data.faces import auto_framing, find_face  # noqa: E402
from sketchstudio.paths import resources_dir  # noqa: E402


def clip(frames: int, noise: float, drift: float = 0.0):
    face = np.asarray(Image.open(resources_dir() / "sample_face.png").convert("RGB").resize((200, 244)))
    rng = np.random.default_rng(0)
    for i in range(frames):
        frame = np.full((480, 640, 3), 120, np.uint8)
        x = int(220 + drift * i)
        frame[120:364, x:x + 200] = face
        frame = cv2.GaussianBlur(frame, (3, 3), 0.6).astype(np.float32) + rng.normal(0, noise, frame.shape)
        yield Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8))


def stats(boxes: list[tuple[int, int, int, int]]) -> str:
    b = np.array(boxes, dtype=float)
    centre = (b[:, :2] + b[:, 2:]) / 2
    steps = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    side = b[:, 2] - b[:, 0]
    return (f"centre std {centre.std(axis=0).mean():.2f} px, largest step {steps.max():.1f} px, side spread "
            f"{side.max() - side.min():.0f} px, distinct crops {len(set(map(tuple, boxes)))}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--noise", type=float, default=4.0)
    args = ap.parse_args(argv)
    for name, drift in (("still face", 0.0), ("face moving 3 px a frame", 3.0)):
        raw, tracked, tracker = [], [], CropTracker()
        for im in clip(args.frames, args.noise, drift):
            f = auto_framing(im, find_face(im))
            raw.append(f.box)
            tracked.append(tracker.update(f).box)
        print(f"{name}, {args.frames} frames, noise {args.noise:g}:")
        print(f"  raw framing:     {stats(raw)}")
        print(f"  tracked framing: {stats(tracked)}")
        if drift:
            lag = ((np.array(raw[-1][:2]) - np.array(tracked[-1][:2])) ** 2).sum() ** 0.5
            print(f"  tracked lags the face by {lag:.1f} px at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
