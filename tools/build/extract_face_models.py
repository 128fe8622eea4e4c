"""Extract MediaPipe's face models from the mediapipe 0.10.21 wheel into resources/face_models/.

    python tools/build/extract_face_models.py [--wheel mediapipe-0.10.21-...whl]

Without --wheel it runs `pip download --no-deps mediapipe==0.10.21` into a temporary folder
(the one network step; the app never downloads). It copies the three .tflite files and the
wheel's licence, turns the landmark index sets of `face_mesh_connections.py` into
`face_mesh_parts.json` (read with `ast`, mediapipe is never imported) and checks every model
file against the SHA-256 that `sketchstudio.core.face_structure` verifies at load time.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sketchstudio.core.face_structure import MODEL_FILES, PARTS_FILE  # noqa: E402

WHEEL_VERSION = "0.10.21"
MEMBERS = {
    "face_detection_short_range.tflite": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "face_landmark.tflite": "mediapipe/modules/face_landmark/face_landmark.tflite",
    "selfie_segmentation.tflite": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
}
CONNECTIONS = "mediapipe/python/solutions/face_mesh_connections.py"
LICENSE = f"mediapipe-{WHEEL_VERSION}.dist-info/LICENSE"
# The index sets the structure map draws (FACEMESH_* names in face_mesh_connections.py).
SETS = ("FACE_OVAL", "LEFT_EYEBROW", "RIGHT_EYEBROW", "LEFT_EYE", "RIGHT_EYE", "NOSE", "LIPS")


def connection_sets(source: str) -> dict[str, list[list[int]]]:
    """FACEMESH_<name> = frozenset([(a, b), ...]) -> {name: sorted [[a, b], ...]}, without importing."""
    found = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id.removeprefix("FACEMESH_")
        if name in SETS:
            call = node.value  # frozenset([...])
            found[name] = sorted([list(pair) for pair in ast.literal_eval(call.args[0])])
    missing = set(SETS) - set(found)
    if missing:
        raise SystemExit(f"{CONNECTIONS}: index sets not found: {sorted(missing)}")
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help=f"a local mediapipe-{WHEEL_VERSION} wheel (default: pip download it)")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "face_models")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"mediapipe=={WHEEL_VERSION}",
                            "-d", tmp], check=True)
            wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        args.out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name, member in MEMBERS.items():
                data = z.read(member)
                digest = hashlib.sha256(data).hexdigest()
                if digest != MODEL_FILES[name]:
                    raise SystemExit(f"{member}: SHA-256 {digest} is not the expected {MODEL_FILES[name]}")
                (args.out / name).write_bytes(data)
                print(f"{name}: {len(data):,} B, sha256 {digest}")
            parts = connection_sets(z.read(CONNECTIONS).decode())
            (args.out / PARTS_FILE).write_text(json.dumps(
                {"source": f"mediapipe {WHEEL_VERSION} {CONNECTIONS}", "licence": "Apache-2.0", "sets": parts},
                indent=1) + "\n")
            (args.out / "LICENSE").write_bytes(z.read(LICENSE))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
