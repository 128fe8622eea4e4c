"""Is MediaPipe's face-landmark network worth a path into the photo encoder (issue 32, arm C)?
A linear probe, before any training is spent on it.

    .venv/bin/python tools/probes/landmark_probe.py --data RUN/data.safetensors --model MODEL

For every training and held-out pair of the run: the model's photo tokens (what its transformer
reads), and the face-landmark network's intermediate maps (24 x 24 x 64 and 12 x 12 x 128 of its
192 px face crop, read through LiteRT's `experimental_preserve_all_tensors`), carried from the
face crop onto the photo's token grid through the crop's affine matrix (zero outside the crop and
where no face is found, with an "inside" flag). Then one softmax classifier shared by all token
cells (plus a position bias and the style) predicts the drawing's token from each feature set;
trained on the training pairs, scored (CE, accuracy) on the held-out ones, best epoch. The same
protocol as the ImageNet probe in ../shared/ENVIRONMENT.md: a feature set that lowers the
held-out CE beside the model's own tokens carries information the encoder does not.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sketchstudio.core.checkpoint import load_model  # noqa: E402
from sketchstudio.core.face_structure import MESH_ROI_SCALE, MESH_SIZE, default_models, models_dir, _level_matrix  # noqa: E402
from sketchstudio.data.cache import TrainingData  # noqa: E402
from sketchstudio.train.base import resize_maps, to_float, tokenize_pair  # noqa: E402

LAYERS = {"p_re_lu_9": 64, "p_re_lu_12": 128}  # the last block at 24 x 24 and at 12 x 12


class LandmarkMaps:
    """Face-landmark intermediate maps of a square photo, on its token grid."""

    def __init__(self):
        from ai_edge_litert.interpreter import Interpreter

        self.faces = default_models()
        self.it = Interpreter(model_path=str(models_dir() / "face_landmark.tflite"),
                              experimental_preserve_all_tensors=True, num_threads=1)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]["index"]
        names = {d["name"]: d["index"] for d in self.it.get_tensor_details()}
        self.layers = {k: names[k] for k in LAYERS}

    def __call__(self, rgb: np.ndarray, grid: int) -> np.ndarray:
        """rgb (S, S, 3) uint8 -> (64 + 128 + 1, grid, grid) float32."""
        import cv2

        out = np.zeros((sum(LAYERS.values()) + 1, grid, grid), np.float32)
        face = self.faces.analyse(rgb)
        if face is None:
            return out
        pts = face.landmarks
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        m = _level_matrix((lo + hi) / 2, float((hi - lo).max()) * MESH_ROI_SCALE, face.roll, MESH_SIZE)
        crop = cv2.warpAffine(rgb, m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        self.it.set_tensor(self.inp, crop[None].astype(np.float32) / 255.0)
        self.it.invoke()
        s = rgb.shape[0]
        c = (np.arange(grid) + 0.5) * s / grid  # token cell centres, photo pixels
        xx, yy = np.meshgrid(c, c)
        q = np.stack([xx, yy], -1) @ m[:, :2].T + m[:, 2]  # (g, g, 2) crop pixels
        g = torch.from_numpy(q / MESH_SIZE * 2 - 1).float()[None]  # grid_sample's coordinates
        row = 0
        for name, ch in LAYERS.items():
            fmap = torch.from_numpy(self.it.get_tensor(self.layers[name])).permute(0, 3, 1, 2).float()
            out[row:row + ch] = F.grid_sample(fmap, g, align_corners=False, padding_mode="zeros")[0].numpy()
            row += ch
        out[-1] = ((np.abs(g[0].numpy()) <= 1).all(-1)).astype(np.float32)
        return out


@torch.inference_mode()
def features(model, photos: torch.Tensor, maps, lm: LandmarkMaps, batch: int = 16):
    """uint8 photos (n, 3, S, S) -> (model's photo tokens (n, N, C), landmark maps (n, N, 193))."""
    toks, lms = [], []
    grid = model.cfg.encoder.grid
    for i in range(0, len(photos), batch):
        p = to_float(photos[i:i + batch])
        toks.append(model.photo_tokens(p, None if maps is None else to_float(maps[i:i + batch])).float())
        for a in photos[i:i + batch].permute(0, 2, 3, 1).numpy():
            lms.append(torch.from_numpy(lm(np.ascontiguousarray(a), grid)).flatten(1).T)
    return torch.cat(toks), torch.stack(lms)


def probe(train_x, train_y, train_s, val_x, val_y, val_s, vocab: int, styles: int, epochs: int = 12):
    """Softmax classifier on per-cell features (n, N, D): best held-out (CE, acc) over epochs."""
    mu, sd = train_x.mean((0, 1)), train_x.std((0, 1)).clamp_min(1e-4)
    train_x, val_x = (train_x - mu) / sd, (val_x - mu) / sd
    n, cells, d = train_x.shape
    torch.manual_seed(0)
    lin = torch.nn.Linear(d, vocab)
    pos = torch.nn.Parameter(torch.zeros(cells, vocab))
    sty = torch.nn.Parameter(torch.zeros(styles, vocab))
    opt = torch.optim.AdamW([*lin.parameters(), pos, sty], lr=2e-3, weight_decay=0.05)

    def logits(x, s):
        return lin(x) + pos + sty[s][:, None]

    best = (float("inf"), 0.0)
    for _ in range(epochs):
        for idx in torch.randperm(n).split(32):
            loss = F.cross_entropy(logits(train_x[idx], train_s[idx]).flatten(0, 1), train_y[idx].flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            lg = logits(val_x, val_s).flatten(0, 1)
            ce = F.cross_entropy(lg, val_y.flatten()).item()
            acc = (lg.argmax(-1) == val_y.flatten()).float().mean().item()
        best = min(best, (ce, acc))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args(argv)
    torch.set_grad_enabled(True)
    model, _ = load_model(args.model)
    model.eval()
    data = TrainingData.load(args.data)
    maps = val_maps = None
    if model.uses_structure:
        data.ensure_structure()
        size = model.cfg.encoder.structure_size
        maps, val_maps = resize_maps(data.photo_structure, size), resize_maps(data.val_structure, size)
    lm = LandmarkMaps()
    t = time.perf_counter()
    photos = data.photos[data.real_photo]
    train_tok, train_lm = features(model, photos, None if maps is None else maps[data.real_photo], lm)
    val_tok, val_lm = features(model, data.val_photo, val_maps, lm)
    print(f"features of {len(photos) + len(data.val_photo)} photos in {time.perf_counter() - t:.0f} s; "
          f"faces found {float(train_lm[:, :, -1].amax(1).gt(0).float().mean()):.3f} / "
          f"{float(val_lm[:, :, -1].amax(1).gt(0).float().mean()):.3f}")
    with torch.inference_mode():
        train_y, _ = tokenize_pair(model.tokenizer, data.real_sketch)
        val_y, _ = tokenize_pair(model.tokenizer, data.val_sketch)
    vocab = model.cfg.tokenizer.codebook_size
    n_sty = len(data.styles)
    arms = {
        "style + position only": (train_tok[..., :0], val_tok[..., :0]),
        "the model's photo tokens": (train_tok, val_tok),
        "face-landmark maps alone": (train_lm, val_lm),
        "photo tokens + face-landmark maps": (torch.cat([train_tok, train_lm], -1), torch.cat([val_tok, val_lm], -1)),
    }
    for name, (tx, vx) in arms.items():
        ce, acc = probe(tx, train_y, data.real_style, vx, val_y, data.val_style, vocab, n_sty, args.epochs)
        print(f"{name:40s} held-out CE {ce:.3f}  acc {acc:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
