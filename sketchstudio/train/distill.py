"""Stage 2b, `distill`: the transformer learns to predict in one pass what its starting model
predicts with style guidance (guidance distillation, as Meng et al. 2023 do for diffusion).

Style-free guidance sharpens every decoding step with a second transformer pass without the
style, ℓ + s·(ℓ − ℓ_null), which doubles the cost of a decode. Here a frozen copy of the
starting model (the teacher) gives that guided distribution for real pairs' partly masked
token maps, in each drawing's style, in mixes of two styles (the slider) and with no style;
the student (the model itself) learns it at the masked positions by KL divergence. After
it, the model sampled without style guidance draws what the teacher drew with it, at half
the transformer passes; its rows with no style still predict the teacher's style-free
logits, so guidance stays possible on top. Only the transformer trains: the photo encoder
and the tokenizer stay, so the renderer keeps seeing what it was trained on.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..core.checkpoint import save_model
from ..core.model import SketchModel
from .base import StageOptions
from .finetune import FinetuneStage


def random_style_weights(styles: torch.Tensor, num_styles: int, mix: float, none: float,
                         generator: torch.Generator) -> torch.Tensor:
    """(B,) style indices -> (B, K) weights: one-hot, or with probability `mix` a random
    convex mix with a second random style, or with probability `none` all zeros (no style)."""
    B = len(styles)
    w = F.one_hot(styles, num_styles).float()
    if num_styles > 1:
        other = torch.randint(0, num_styles, (B,), generator=generator)
        t = torch.rand(B, generator=generator)
        mixed = (1 - t[:, None]) * w + t[:, None] * F.one_hot(other, num_styles).float()
        use = torch.rand(B, generator=generator) < mix
        w = torch.where(use[:, None], mixed, w)
    drop = torch.rand(B, generator=generator) < none
    return w.masked_fill(drop[:, None], 0.0)


class DistillStage(FinetuneStage):
    """Stage 2b: the student learns the starting model's style-guided predictions."""
    name = "distill"

    def param_groups(self, model: SketchModel, opts: StageOptions, trained: set[int]) -> list[dict]:
        model.encoder.requires_grad_(False)
        emb = model.transformer.style_emb
        rest = [p for p in model.transformer.parameters() if p is not emb]
        return [{"params": rest}, {"params": [emb], "weight_decay": 0.0}]

    def after_optimizer(self, model: SketchModel, opts: StageOptions) -> None:
        if opts.distill_guidance <= 0:
            raise ValueError("the distill stage needs a style guidance above 0 to distil (--distill-guidance)")
        if model.cfg.transformer.learnt_guidance:
            raise ValueError("this model has already learnt style guidance "
                             f"({model.cfg.transformer.learnt_guidance:g}); distil from the model it was made from")
        # The starting model, frozen: built before any step, so a resumed run gets the same
        # teacher from the same --init model.
        self.teacher = copy.deepcopy(model).eval().requires_grad_(False)

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        m, o = self.model, self.opts
        cfg = m.cfg
        j, _, photo, target, mask, inputs, structure, imagenet = self.draw_batch()
        B = target.shape[0]
        style = random_style_weights(self.style[j], len(cfg.styles), o.distill_mix, o.style_dropout, self.generator)
        photo, mask, inputs, style = (self.to_device(t) for t in (photo, mask, inputs, style))
        structure, imagenet = (None if t is None else self.to_device(t) for t in (structure, imagenet))

        with torch.no_grad(), self.autocast():
            feats = m.photo_tokens(photo, structure, imagenet)  # frozen: shared by teacher and student
            t_mem = self.teacher.transformer.prepare_memory(feats)
            both = self.teacher.transformer(torch.cat([inputs, inputs]), t_mem.repeat(2),
                                            torch.cat([style, torch.zeros_like(style)])).float()
            cond, null = both[:B], both[B:]
            guided = cond + o.distill_guidance * (cond - null)  # what the sampler computes
            p_log = guided[mask].log_softmax(-1)  # (M, K)
        with self.autocast():
            memory = m.transformer.prepare_memory(feats)
            logits = m.transformer(inputs, memory, style).float()  # (B, N, K)
            kl = F.kl_div(logits[mask].log_softmax(-1), p_log, log_target=True, reduction="batchmean")
        self.optimise(kl)
        with torch.no_grad():
            agree = (logits[mask].argmax(-1) == guided[mask].argmax(-1)).float().mean()
        return {"kl": kl.item(), "agree": agree.item(), "loss": kl.item()}

    def finish(self, out_dir):
        # The styles it trained now carry the guidance in their predictions; the sampler gives
        # the others (synthetic ones, styles an artist adds later) that guidance itself.
        trained = [self.model.styles[i] for i in sorted(set(self.style.tolist()))]
        t = dataclasses.replace(self.model.cfg.transformer, guided_styles=tuple(trained),
                                learnt_guidance=float(self.opts.distill_guidance))
        self.model.cfg = dataclasses.replace(self.model.cfg, transformer=t)
        self.model.transformer.cfg = self.model.cfg
        path = Path(out_dir) / f"{self.name}.safetensors"
        save_model(self.model, path, info={"stage": self.name, "steps": self.total,
                                           "distilled_style_guidance": self.opts.distill_guidance})
        return path
