"""Stage 4, `tone`: fit each style's tone curve (core/tone.py) to the drawings.

The model draws the training pairs' photos as it does at run time (tokens sampled with its
recommended settings, the finished sketch at the drawing's own size, through the renderer
alone), and the stage counts the grey levels of those sketches and of the drawings, per style.
Each step is one batch of pairs, in order, so `--max-steps` bounds how many pairs are drawn
(a stage never draws more batches than the data holds) and a resumed stage goes on counting
where it stopped. At the end each style with drawings in the data gets the curve that maps
the model's histogram onto its drawings' (quantile matching); every other style's curve is
kept as it was, so a style added in the wizard leaves the old ones bit for bit.

The render stage ends the same way on a model that has curves (`refit_tone`): the curves
describe the renderer they were fitted on, so retraining it fits them again, for the styles it
trained (a wizard style's render stage fits the new style's curve; the others stay).

Nothing is learnt by gradient: the optimizer the runner checkpoints holds the table and
never steps. `train all` runs this stage last, to add the curves to a new model.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..core.metrics import scoot
from ..core.model import SketchModel
from ..core.tone import LEVELS, quantile_curve
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, image_grid, to_float, to_uint8
from .device import module_device
from .sampled_tokens import encoder_photo, render_settings, sampled_ids
from .upscale import require_native

MIN_PAIRS = 4  # drawings a style needs before its curve is fitted


def tone_batches(data: TrainingData, batch: int) -> int:
    """Steps the tone stage takes to draw every training pair once."""
    return math.ceil(len(data.real_style) / batch)


def tone_batch(data: TrainingData, batch: int, step: int) -> torch.Tensor:
    """The training pairs (indices into data.real_*) step `step` draws: empty past the last batch."""
    return torch.arange(step * batch, min((step + 1) * batch, len(data.real_style)))


class ToneCounter:
    """Grey-level histograms, per style, of the model's finished sketches of training pairs and
    of their drawings; `curves()` fits the tone table to them."""

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions):
        self.model, self.data = model, data
        self.device = module_device(model)
        K = len(model.styles)
        self.counts_model = torch.zeros(K, LEVELS, dtype=torch.float64)
        self.counts_drawing = torch.zeros(K, LEVELS, dtype=torch.float64)
        self.pairs = torch.zeros(K, dtype=torch.long)
        self.settings = render_settings(model, opts)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"counts_model": self.counts_model, "counts_drawing": self.counts_drawing, "pairs": self.pairs}

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        self.counts_model = tensors["counts_model"].clone()
        self.counts_drawing = tensors["counts_drawing"].clone()
        self.pairs = tensors["pairs"].clone()

    @torch.no_grad()
    def draw(self, photos: torch.Tensor, styles: torch.Tensor, sizes: torch.Tensor,
             toned: tuple[bool, ...] = (False,)) -> list[list[torch.Tensor]]:
        """The model's finished sketches (1, h, w) in [0, 1] of uint8 photos (n, 3, S, S) in their
        styles (n,) at the drawings' sizes (n, 2), from one draw of tokens: a list per entry of
        `toned` (False: before the tone curves, True: through them)."""
        m = self.model
        ids = sampled_ids(m, photos, styles, self.settings).to(self.device)
        tone = m.tokenizer.tone
        out = []
        try:
            for with_tone in toned:
                m.tokenizer.tone = tone if with_tone else None
                row = []
                for i in range(len(photos)):
                    h, w = (int(v) for v in sizes[i])
                    style = F.one_hot(styles[i:i + 1], len(m.styles)).float().to(self.device)
                    photo = encoder_photo(m, photos[i:i + 1].to(self.device))
                    row.append(m.decode(ids[i:i + 1], (h, w), style=style, photo=photo)[0])
                out.append(row)
        finally:
            m.tokenizer.tone = tone
        return out

    def add(self, j: torch.Tensor) -> None:
        """Draw the training pairs `j` (indices into data.real_*) and count their grey levels."""
        d = self.data
        styles, sizes = d.real_style[j], d.real_native_size[j]
        sketches = self.draw(d.photos[d.real_photo[j]], styles, sizes)[0]
        for k, (s, (h, w)) in enumerate(zip(styles.tolist(), sizes.tolist())):
            drawn = torch.from_numpy(to_uint8(sketches[k]).ravel()).long()
            drawing = d.real_native[j[k], 0, :h, :w].ravel().long()
            self.counts_model[s] += torch.bincount(drawn, minlength=LEVELS).double()
            self.counts_drawing[s] += torch.bincount(drawing, minlength=LEVELS).double()
            self.pairs[s] += 1

    def curves(self) -> torch.Tensor:
        """The fitted table (K, LEVELS): a new curve for each style with MIN_PAIRS drawings counted,
        the current one for the rest."""
        table = self.model.tokenizer.tone.table.detach().cpu().clone()
        for s in range(len(self.model.styles)):
            if self.pairs[s] >= MIN_PAIRS:
                table[s] = quantile_curve(self.counts_model[s], self.counts_drawing[s])
        return table


@torch.no_grad()
def refit_tone(model: SketchModel, data: TrainingData, opts: StageOptions) -> None:
    """Fit `model`'s tone curves again, in place, for the styles `data` has drawings of (the
    render stage's end, on a model that has curves: they describe the renderer it just trained)."""
    counter = ToneCounter(model, data, opts)
    for step in range(tone_batches(data, opts.batch)):
        counter.add(tone_batch(data, opts.batch, step))
    model.tokenizer.tone.table.copy_(counter.curves())


class ToneStage(StageBase):
    name = "tone"

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        tok = model.tokenizer
        if tok.tone is None:
            raise ValueError("the tone stage needs a model with tone curves (add_tone)")
        require_native(data, self.name)
        model.requires_grad_(False)
        super().__init__(model, data, opts, total, [tok.tone.table], lr=0.0)
        self.counter = ToneCounter(model, data, opts)
        n = opts.preview_count
        self.check = data.photos[data.real_photo[:n]], data.real_style[:n], data.real_native[:n], \
            data.real_native_size[:n]

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return self.counter.tensors()

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.counter.load(tensors)

    def train_step(self, step: int) -> dict[str, float]:
        j = tone_batch(self.data, self.opts.batch, step)
        if len(j):  # more steps than batches: nothing left to draw
            self.counter.add(j)
        return {"pairs": float(self.counter.pairs.sum())}

    def curves(self) -> torch.Tensor:
        return self.counter.curves()

    def finish(self, out_dir):
        with torch.no_grad():
            self.model.tokenizer.tone.table.copy_(self.curves())
        return super().finish(out_dir)

    @torch.no_grad()
    def preview(self):
        """Check pairs: rows of (drawing, before the curves, with the curves fitted so far) centre
        crops, and SCOOT of both."""
        photos, styles, native, sizes = self.check
        tone = self.model.tokenizer.tone
        saved = tone.table.clone()
        tone.table.copy_(self.curves())
        try:
            plain, toned = self.counter.draw(photos, styles, sizes, toned=(False, True))
        finally:
            tone.table.copy_(saved)
        rows, before, after = [], [], []
        c = int(min(192, sizes.min()))
        for i in range(len(photos)):
            h, w = (int(v) for v in sizes[i])
            drawing = to_float(native[i, :, :h, :w].to(self.device))  # (1, h, w)
            before.append(scoot(to_uint8(drawing), to_uint8(plain[i])))
            after.append(scoot(to_uint8(drawing), to_uint8(toned[i])))
            t, left = (h - c) // 2, (w - c) // 2
            rows.append([x[:, t:t + c, left:left + c] for x in (drawing, plain[i], toned[i])])
        return image_grid(rows), {"scoot_before": float(np.mean(before)), "scoot_toned": float(np.mean(after))}
