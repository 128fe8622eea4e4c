"""Stage 0, `tokenizer`: the VQ tokenizer on real and synthetic sketches (L1 and the VQ loss),
with dead codes restarted from the batch's latents every `restart_every` steps."""
from __future__ import annotations

import torch

from ..core.metrics import ssim
from ..core.model import SketchModel
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, round_trip, to_float


class TokenizerStage(StageBase):
    name = "tokenizer"
    restart_every = 50

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        super().__init__(model, data, opts, total, model.tokenizer.parameters())
        self.sketches = torch.cat([data.real_sketch, data.synth_sketch])  # (M, 1, S, S) uint8
        if len(self.sketches) == 0:
            raise ValueError("the tokenizer stage needs sketches (real pairs or photos for synthetic ones)")
        k = model.cfg.tokenizer.codebook_size
        self.usage = torch.zeros(k, dtype=torch.long)
        self.check = (data.val_sketch if len(data.val_sketch) else self.sketches)[: opts.preview_count * 2]

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return {"code_usage": self.usage}

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "code_usage" in tensors:
            self.usage = tensors["code_usage"].clone()

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        tok = self.model.tokenizer
        x = to_float(self.sketches[self._pick(len(self.sketches))])  # (B, 1, S, S)
        x = self.to_device(torch.where(self._flip().view(-1, 1, 1, 1), x.flip(-1), x))
        with self.autocast():
            rec, vq_loss, ids = tok(x)
            l1 = (rec - x).abs().mean()
            loss = l1 + vq_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        tok.renormalize_codebook_()
        self.usage += torch.bincount(ids.flatten(), minlength=len(self.usage)).cpu()
        restarted = 0
        if (step + 1) % self.restart_every == 0:
            with torch.no_grad():
                z = tok.encode_latent(x).permute(0, 2, 3, 1).reshape(-1, tok.cfg.code_dim)
            restarted = tok.restart_dead_codes(self.usage.to(self.device), z)
            self.usage.zero_()
        return {"loss": loss.item(), "l1": l1.item(), "vq": vq_loss.item(), "codes_restarted": float(restarted)}

    @torch.no_grad()
    def preview(self):
        grid, x, ids, rec = round_trip(self.model.tokenizer, self.check, self.opts.preview_count)
        return grid, {"val_ssim": ssim(rec, x).mean().item(), "codes_in_check": float(ids.unique().numel())}
