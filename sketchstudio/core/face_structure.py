"""Face structure from MediaPipe's offline face models, run by Google's LiteRT: faces with a
score, the largest face's 468 Face Mesh landmarks, the person mask, and a structure map.

The three `.tflite` files ship in `resources/face_models/` (Apache-2.0, extracted from the
mediapipe 0.10.21 wheel by `tools/build/extract_face_models.py`); each is checked against its
SHA-256 when first loaded, so a missing or damaged file is a `FaceModelError` naming it.
Nothing is downloaded. No Qt and no torch: numpy, OpenCV and LiteRT only.

Coordinates are (x, y) in the pixels of the image given. "Roll" is the angle of the eye line,
degrees, positive when the subject's left eye (the image's right) is lower: turning the photo
by -roll levels the eyes.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# SHA-256 of the files tools/build/extract_face_models.py takes from mediapipe 0.10.21.
MODEL_FILES = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
}
PARTS_FILE = "face_mesh_parts.json"
# The structure map's channels, in order: lines of the face's parts, then the person mask.
CHANNELS = ("jaw", "brows", "eyes", "nose", "lips", "person")
PARTS = CHANNELS[:-1]
# Bump when the map is drawn differently: training caches and packs made by another version
# have their maps made again (data/cache.py TrainingData.ensure_structure).
STRUCTURE_VERSION = 1
# Side of the maps the training data keeps and a renderer is given (the default encoder's too:
# 16 x 16 patches, 4 px each); a model that needs another size resizes them.
STRUCTURE_SIZE = 64
_PART_SETS = {"jaw": ("FACE_OVAL",), "brows": ("LEFT_EYEBROW", "RIGHT_EYEBROW"), "eyes": ("LEFT_EYE", "RIGHT_EYE"),
              "nose": ("NOSE",), "lips": ("LIPS",)}
# Face Mesh indices: eye corners (the image's left eye: outer 33, inner 133; right: 362, 263),
# forehead top and chin.
EYE_L_OUT, EYE_L_IN, EYE_R_IN, EYE_R_OUT, FOREHEAD, CHIN = 33, 133, 362, 263, 10, 152

DETECT_SIZE, MESH_SIZE, MASK_SIZE = 128, 192, 256
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE = 0.5  # Face Mesh's own face score (sigmoid of its logit)
MESH_ROI_SCALE = 1.5  # MediaPipe's face-landmark crop: 1.5x the face box, square, eyes level
MAX_SIDE = 1280  # larger photos are shrunk before detection (the detector sees 128 px anyway)
LINE_WIDTH = 0.045  # structure-map line width, in eye-to-chin heights
# FS2K framing from landmarks, measured on FS2K training photos by tools/probes/calibrate_face_crop.py:
# crop side and the crop centre's drop below the eye midpoint, both in eye-to-chin heights.
CROP_SIDE = 2.42  # photo1 (square): median 2.42, IQR 2.32-2.51 on 120 photos
CROP_DROP = 0.16  # photo1: median 0.16, IQR 0.15-0.17


class FaceModelError(RuntimeError):
    """A face model file (or the LiteRT runtime) is missing or damaged."""


def models_dir() -> Path:
    from ..paths import resources_dir

    return resources_dir() / "face_models"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1)
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]]  # the image's left eye, then right eye

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass(frozen=True, eq=False)
class Face:
    """The largest face: its detection and its Face Mesh landmarks (468, 2) in image pixels."""
    detection: Detection
    landmarks: np.ndarray  # (468, 2) float32
    presence: float

    @property
    def eye_centre(self) -> np.ndarray:
        return self.landmarks[[EYE_L_OUT, EYE_L_IN, EYE_R_IN, EYE_R_OUT]].mean(axis=0)  # (2,)

    @property
    def roll(self) -> float:
        left = self.landmarks[[EYE_L_OUT, EYE_L_IN]].mean(axis=0)
        right = self.landmarks[[EYE_R_IN, EYE_R_OUT]].mean(axis=0)
        dx, dy = right - left
        return math.degrees(math.atan2(dy, dx))

    @property
    def height(self) -> float:
        """Eye midpoint to chin, pixels: the face's size for framing and line widths."""
        return float(np.linalg.norm(self.landmarks[CHIN] - self.eye_centre))

    def transformed(self, matrix: np.ndarray) -> "Face":
        """The same face with its landmarks moved by a 2x3 affine `matrix` (into a crop's pixels)."""
        pts = self.landmarks @ matrix[:, :2].T + matrix[:, 2]  # (468, 2)
        return Face(self.detection, pts.astype(np.float32), self.presence)


def as_rgb_array(image) -> np.ndarray:
    """PIL image (any mode) or (H, W, 3) uint8 array -> (H, W, 3) uint8; anything else is a ValueError."""
    if isinstance(image, Image.Image):
        from ..core.imaging import to_rgb

        image = np.asarray(to_rgb(image))
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {a.dtype} {a.shape}")
    return a


class FaceModels:
    """The three LiteRT models; one set of interpreters per thread (an interpreter is not thread-safe)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else models_dir()
        self._blobs = {name: self._read(name) for name in MODEL_FILES}
        self._parts = self._read_parts()
        self._local = threading.local()

    def _read(self, name: str) -> bytes:
        path = self.folder / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FaceModelError(f"{path}: face model file missing ({exc.strerror}); "
                                 "reinstall SketchStudio or run tools/build/extract_face_models.py") from exc
        if hashlib.sha256(data).hexdigest() != MODEL_FILES[name]:
            raise FaceModelError(f"{path}: face model file damaged (SHA-256 mismatch); "
                                 "reinstall SketchStudio or run tools/build/extract_face_models.py")
        return data

    def _read_parts(self) -> dict[str, np.ndarray]:
        path = self.folder / PARTS_FILE
        try:
            sets = json.loads(path.read_text())["sets"]
            return {part: np.array([e for s in names for e in sets[s]], dtype=np.int64).reshape(-1, 2)
                    for part, names in _PART_SETS.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FaceModelError(f"{path}: face part index file missing or damaged ({exc})") from exc

    def _interpreter(self, name: str):
        cache = self._local.__dict__
        if name not in cache:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:  # pragma: no cover - a broken install
                raise FaceModelError(f"the LiteRT runtime (ai-edge-litert) is not installed: {exc}") from exc
            try:
                it = Interpreter(model_content=self._blobs[name], num_threads=1)
                it.allocate_tensors()
            except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad flatbuffer
                raise FaceModelError(f"{self.folder / name}: LiteRT cannot load it: {exc}") from exc
            cache[name] = (it, it.get_input_details()[0]["index"], [d["index"] for d in it.get_output_details()])
        return cache[name]

    def _run(self, name: str, x: np.ndarray) -> list[np.ndarray]:
        it, inp, outs = self._interpreter(name)
        it.set_tensor(inp, x[None].astype(np.float32))
        it.invoke()
        return [it.get_tensor(i)[0] for i in outs]

    # -- detection ---------------------------------------------------------------------
    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 array, largest first, scores >= MIN_DETECTION_SCORE."""
        h, w = rgb.shape[:2]
        if min(h, w) < 16:
            return []
        found = self._detect_square(rgb, 0, 0, max(h, w))
        if not found:  # a small face in a big frame: look again at overlapping quarters
            side = max(16, int(round(max(h, w) / 2)))
            for y0 in _tile_starts(h, side):
                for x0 in _tile_starts(w, side):
                    found += self._detect_square(rgb, x0, y0, side)
            found = _nms(found)
        return sorted(found, key=lambda d: d.area, reverse=True)

    def _detect_square(self, rgb: np.ndarray, x0: int, y0: int, side: int) -> list[Detection]:
        """Detect in the square (x0, y0, side) of `rgb`, zero-padded where it runs past the image."""
        crop = rgb[y0:y0 + side, x0:x0 + side]
        canvas = np.zeros((side, side, 3), np.uint8)
        canvas[:crop.shape[0], :crop.shape[1]] = crop
        x = cv2.resize(canvas, (DETECT_SIZE, DETECT_SIZE), interpolation=cv2.INTER_AREA)
        reg, cls = self._run("face_detection_short_range.tflite", x.astype(np.float32) / 127.5 - 1.0)
        scores = 1.0 / (1.0 + np.exp(-np.clip(cls[:, 0], -80, 80)))  # (896,)
        keep = np.flatnonzero(scores >= MIN_DETECTION_SCORE)
        dets = []
        for i in keep:
            r = reg[i] / DETECT_SIZE  # (16,) in units of the square
            ax, ay = _anchors()[i]
            cx, cy, bw, bh = ax + r[0], ay + r[1], r[2], r[3]
            eyes = ((ax + r[4], ay + r[5]), (ax + r[6], ay + r[7]))

            def px(u, v):
                return x0 + u * side, y0 + v * side

            box = (*px(cx - bw / 2, cy - bh / 2), *px(cx + bw / 2, cy + bh / 2))
            dets.append(Detection(box, float(scores[i]), (px(*eyes[0]), px(*eyes[1]))))
        return _nms(dets)

    # -- landmarks ---------------------------------------------------------------------
    def mesh(self, rgb: np.ndarray, centre, side: float, roll: float) -> tuple[np.ndarray, float]:
        """Face Mesh on the square (centre, side) turned by -roll: landmarks (468, 2) in image
        pixels and the face presence."""
        m = _level_matrix(centre, side, roll, MESH_SIZE)
        crop = cv2.warpAffine(rgb, m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        coords, logit = self._run("face_landmark.tflite", crop.astype(np.float32) / 255.0)
        pts = coords.reshape(-1, 3)[:, :2]  # (468, 2) crop pixels
        inv = cv2.invertAffineTransform(m)
        return (pts @ inv[:, :2].T + inv[:, 2]).astype(np.float32), float(1 / (1 + np.exp(-logit.ravel()[0])))

    def analyse(self, image) -> Face | None:
        """The largest face that Face Mesh confirms, with its landmarks, or None."""
        rgb = as_rgb_array(image)
        h, w = rgb.shape[:2]
        k = min(1.0, MAX_SIDE / max(h, w))
        small = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA) if k < 1 else rgb
        for d in self.detect(small)[:3]:  # largest first; the next one when Face Mesh rejects it
            face = self._landmarks(small, d)
            if face is not None:
                if k < 1:
                    d = Detection(tuple(v / k for v in d.box), d.score, tuple((x / k, y / k) for x, y in d.eyes))
                    face = Face(d, face.landmarks / k, face.presence)
                return face
        return None

    def _landmarks(self, rgb: np.ndarray, d: Detection) -> Face | None:
        (lx, ly), (rx, ry) = d.eyes
        x0, y0, x1, y1 = d.box
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        roll = math.degrees(math.atan2(ry - ly, rx - lx))
        pts, presence = self.mesh(rgb, centre, max(x1 - x0, y1 - y0) * MESH_ROI_SCALE, roll)
        # One refinement, as MediaPipe tracks: the crop again from the landmarks themselves.
        first = Face(d, pts, presence)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pts, presence = self.mesh(rgb, (lo + hi) / 2, float((hi - lo).max()) * MESH_ROI_SCALE, first.roll)
        return Face(d, pts, presence) if presence >= MIN_PRESENCE else None

    # -- person mask and map ---------------------------------------------------------------
    def person_mask(self, square_rgb: np.ndarray, size: int) -> np.ndarray:
        """Person probability (size, size) float32 in [0, 1] for a square RGB image."""
        x = cv2.resize(square_rgb, (MASK_SIZE, MASK_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        (p,) = self._run("selfie_segmentation.tflite", x)
        return np.clip(cv2.resize(p[..., 0], (size, size), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)

    def part_segments(self, face: Face) -> dict[str, np.ndarray]:
        """Each part's line segments (S, 2, 2) in the face's pixels; the jaw is the face oval
        below the eye line (the forehead's part of it runs under hair that drawings leave out)."""
        out = {}
        for part, edges in self._parts.items():
            seg = face.landmarks[edges]  # (S, 2, 2)
            if part == "jaw":
                t = math.radians(face.roll)
                # Height below the eye line, measured across it (turned so the eyes are level).
                down = (seg[..., 1] - face.eye_centre[1]) * math.cos(t) - (seg[..., 0] - face.eye_centre[0]) * math.sin(t)
                seg = seg[(down > 0.1 * face.height).all(axis=1)]
            out[part] = seg.astype(np.float32)
        return out

    def structure_map(self, face: Face | None, mask: np.ndarray | None, frame: int, size: int) -> np.ndarray:
        """(6, size, size) float32 in [0, 1]: the parts' lines (CHANNELS order) and the person
        mask, for a face whose landmarks are in the pixels of a square frame of side `frame`.
        No face: zero line channels. Deterministic: anti-aliased lines drawn at up to 4x, averaged down."""
        ss = max(1, min(4, 1024 // max(1, size)))
        big = size * ss
        out = np.zeros((len(CHANNELS), size, size), np.float32)
        if face is not None:
            k = big / frame
            width = max(1, int(round(LINE_WIDTH * face.height * k)))
            for c, (part, seg) in enumerate(self.part_segments(face).items()):
                canvas = np.zeros((big, big), np.uint8)
                pts = np.round(seg * k * 16).astype(np.int32)  # 4 fractional bits (shift=4)
                cv2.polylines(canvas, list(pts), False, 255, width, cv2.LINE_AA, shift=4)
                out[c] = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA) / 255.0 if ss > 1 else canvas / 255.0
        if mask is not None:
            out[-1] = mask if mask.shape == (size, size) else cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
        return out


@functools.lru_cache(maxsize=1)
def default_models() -> FaceModels:
    """The bundled models, loaded once per process."""
    return FaceModels()


# -- framing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Framing:
    """A square crop: `box` (x0, y0, x1, y1) in the photo's pixels before it is turned, and
    `roll`, the degrees the photo is turned about the box centre (by -roll) to level the eyes."""
    box: tuple[int, int, int, int]
    roll: float = 0.0

    def matrix(self, size: int | None = None) -> np.ndarray:
        """2x3 affine from photo pixels to the framed square's pixels (side `size`, default the box's)."""
        x0, y0, x1, y1 = self.box
        side = x1 - x0
        return _level_matrix(((x0 + x1) / 2, (y0 + y1) / 2), side, self.roll, size or side)

    def crop(self, image: Image.Image) -> Image.Image:
        """The framed square at the box's own side, edge pixels padding what runs past the photo."""
        a = np.asarray(image.convert("RGB"))
        x0, y0, x1, y1 = self.box
        if self.roll == 0.0:  # a plain cut, pixel for pixel
            pad = max(0, -x0, -y0, x1 - image.width, y1 - image.height)
            if pad:
                a = np.pad(a, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
            return Image.fromarray(np.ascontiguousarray(a[y0 + pad:y1 + pad, x0 + pad:x1 + pad]))
        side = x1 - x0
        out = cv2.warpAffine(a, self.matrix(), (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return Image.fromarray(out)


def face_framing(face: Face, level: bool = True) -> Framing:
    """FS2K framing from the landmarks: a square CROP_SIDE eye-to-chin heights wide, centred
    CROP_DROP heights below the eye midpoint (along the face), turned to level the eyes."""
    roll = round(face.roll, 2) if level else 0.0
    h = face.height
    t = math.radians(roll)
    down = np.array([-math.sin(t), math.cos(t)])  # the face's "down" in photo pixels
    cx, cy = face.eye_centre + CROP_DROP * h * down
    side = max(8, int(round(CROP_SIDE * h)))
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    return Framing((x0, y0, x0 + side, y0 + side), roll)


def centre_framing(size: tuple[int, int]) -> Framing:
    w, h = size
    s = min(w, h)
    x0, y0 = (w - s) // 2, (h - s) // 2
    return Framing((x0, y0, x0 + s, y0 + s), 0.0)


# -- helpers ------------------------------------------------------------------------------
def _level_matrix(centre, side: float, roll: float, out: int) -> np.ndarray:
    """2x3 affine: the square of `side` around `centre`, turned by -roll, onto out x out pixels."""
    t = math.radians(roll)
    s = out / side
    r = s * np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    c = np.asarray(centre, dtype=np.float64)
    return np.hstack([r, (out / 2 - r @ c)[:, None]])


@functools.lru_cache(maxsize=1)
def _anchors() -> np.ndarray:
    """BlazeFace short-range SSD anchor centres (896, 2), in units of the 128 px input."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):  # strides 8, 16, 16, 16 with 2 anchors a layer
        n = DETECT_SIZE // stride
        for y in range(n):
            for x in range(n):
                out += [((x + 0.5) / n, (y + 0.5) / n)] * per_cell
    return np.array(out, dtype=np.float32)


def _tile_starts(length: int, side: int) -> list[int]:
    if length <= side:
        return [0]
    n = math.ceil((length - side) / (side / 2)) + 1
    return [int(round(i * (length - side) / (n - 1))) for i in range(n)]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _nms(dets: list[Detection], overlap: float = 0.3) -> list[Detection]:
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: d.score, reverse=True):
        if all(_iou(d.box, k.box) < overlap for k in kept):
            kept.append(d)
    return kept


# -- maps for the model -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SquareStructure:
    """What the model is told about a square photo: its face (landmarks in its pixels) or
    None, the person mask (size, size) and the map."""
    face: Face | None
    mask: np.ndarray
    map: np.ndarray  # (len(CHANNELS), size, size) float32


def square_structure(rgb: np.ndarray, size: int, models: FaceModels | None = None) -> SquareStructure:
    """Face, person mask and structure map of a square RGB uint8 image, the map at `size`."""
    m = models or default_models()
    face = m.analyse(rgb)
    mask = m.person_mask(rgb, size)
    return SquareStructure(face, mask, m.structure_map(face, mask, rgb.shape[0], size))


def photo_arrays(photo) -> list[np.ndarray]:
    """photo (B, 3, h, w) float in [0, 1] (a torch tensor) -> B RGB uint8 arrays (h, w, 3)."""
    import torch

    rgb = (photo.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(a) for a in rgb]


_RECENT_MAPS = 8  # maps kept by structure_maps: a decode asks twice per photo (encoder, renderer)
_recent: dict[tuple[bytes, int], np.ndarray] = {}
_recent_lock = threading.Lock()


def _recent_map(rgb: np.ndarray, size: int) -> np.ndarray:
    """square_structure(rgb, size).map, kept for the last few photos (keyed by their pixels)."""
    key = (hashlib.blake2b(rgb.tobytes(), digest_size=16).digest() + bytes(str(rgb.shape), "ascii"), size)
    with _recent_lock:
        hit = _recent.pop(key, None)
        if hit is not None:
            _recent[key] = hit  # most recent last
            return hit
    m = square_structure(rgb, size).map
    m.setflags(write=False)
    with _recent_lock:
        _recent[key] = m
        while len(_recent) > _RECENT_MAPS:
            _recent.pop(next(iter(_recent)))
    return m


def forget_maps() -> None:
    """Drop the kept maps (benchmarks time a new photo's analysis with it)."""
    with _recent_lock:
        _recent.clear()


def structure_maps(photo, size: int) -> "torch.Tensor":  # noqa: F821 - torch is imported lazily
    """photo (B, 3, S, S) float in [0, 1] (a torch tensor) -> maps (B, C, size, size) float32.
    The last few photos' maps are kept: the encoder and the renderer ask for the same one."""
    import torch

    return torch.from_numpy(np.stack([_recent_map(a, size) for a in photo_arrays(photo)]))
