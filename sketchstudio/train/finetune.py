"""Stage 2, `finetune`: masked-token modelling on real pairs with their styles, plus pixel
and feature losses on a differentiable (soft-codebook) decode, and what keeps the styles this
data does not train: a distillation teacher, frozen style rows, and the embedding-only and
adapter-only modes that leave every other style drawing bit for bit as before."""
from __future__ import annotations

import copy
import dataclasses

import torch
import torch.nn.functional as F

from ..core.model import SketchModel
from ..data.cache import TrainingData
from .base import StageOptions, to_float
from .masked import MaskedBatch, MaskedTokenStage


def _lora_params(model: SketchModel) -> list[torch.nn.Parameter]:
    return [p for n, p in model.transformer.named_parameters() if n.endswith((".lora_a", ".lora_b"))]


class FinetuneStage(MaskedTokenStage):
    """Stage 2: real pairs with their styles."""
    name = "finetune"

    def training_pairs(self, data: TrainingData):
        return data.real_photo, data.real_sketch, data.real_style

    def param_groups(self, model: SketchModel, opts: StageOptions, trained: set[int]) -> list[dict]:
        # Only the new styles' embedding rows: every shared weight stays, so the other styles draw
        # exactly as before (textual-inversion-like); fine-tuning everything redraws them.
        self.embedding_only = opts.only_new_styles and len(self.kept) > 0
        # Adapter mode: every trained style owns an adapter (train/styles.py add_adapters).
        adapted = set(model.cfg.transformer.adapter_styles)
        self.adapter_only = (len(self.kept) > 0 and bool(adapted)
                             and {model.styles[i] for i in trained} <= adapted and not self.embedding_only)
        if self.adapter_only:
            model.requires_grad_(False)
            lora = _lora_params(model)
            for p in [model.transformer.style_emb, *lora]:
                p.requires_grad_(True)
            # No weight decay: other adapters' slots share these tensors and get no gradient.
            return [{"params": [model.transformer.style_emb], "weight_decay": 0.0,
                     "lr_scale": opts.new_style_lr / opts.lr},
                    {"params": lora, "weight_decay": 0.0, "lr_scale": opts.adapter_lr / opts.lr}]
        if self.embedding_only:
            model.requires_grad_(False)
            model.transformer.style_emb.requires_grad_(True)
            return [{"params": [model.transformer.style_emb], "weight_decay": 0.0,
                     "lr_scale": opts.new_style_lr / opts.lr}]
        return super().param_groups(model, opts, trained)

    def after_optimizer(self, model: SketchModel, opts: StageOptions) -> None:
        # Styles the model has but this data does not train (the FS2K styles when an artist adds
        # one, the synthetic ones in the full pipeline): without a teacher, fine-tuning on one new
        # style redraws every old style in it within 25 steps (measured, docs/BENCHMARKS.md). The
        # starting model, frozen, keeps them: learning without forgetting (Li & Hoiem 2016).
        self.teacher = None
        if opts.keep_weight > 0 and len(self.kept) and not (self.embedding_only or self.adapter_only):
            self.teacher = copy.deepcopy(model).eval().requires_grad_(False)
        if len(self.kept):
            # The kept styles' own embedding rows stay as they were: distillation keeps their
            # look through the shared weights; a row is only ever trained by its own data.
            kept_rows = torch.zeros(len(model.styles), 1, device=model.transformer.style_emb.device)
            kept_rows[self.kept] = 1.0
            model.transformer.style_emb.register_hook(lambda g: g * (1 - kept_rows))
        # Styles this stage trains by cross-entropy no longer predict with the style guidance a
        # distill stage taught them: the model stops claiming it, so the sampler guides them
        # again (and a later distill stage may start from this model).
        t = model.cfg.transformer
        if t.learnt_guidance and not (self.embedding_only or self.adapter_only):
            trained = set(self.style.tolist())
            left = tuple(s for s in t.guided_styles if model.styles.index(s) not in trained)
            model.cfg = dataclasses.replace(model.cfg, transformer=dataclasses.replace(
                t, guided_styles=left, learnt_guidance=t.learnt_guidance if left else 0.0))
            model.transformer.cfg = model.cfg
        if self.adapter_only:
            # Adapter slots of styles this data does not train (an earlier added style) stay too.
            t = model.cfg.transformer
            kept_slots = torch.tensor([float(model.styles.index(s) in self.kept.tolist()) for s in t.adapter_styles],
                                      device=model.transformer.style_emb.device)
            for p in _lora_params(model):
                p.register_hook(lambda g, k=kept_slots: g * (1 - k).view(-1, *([1] * (g.dim() - 1))))

    def check_set(self):
        d, n = self.data, self.opts.preview_count
        if not len(d.val_photo):
            return super().check_set()
        # Spread the check photos over the styles present.
        order = torch.argsort(d.val_style, stable=True)
        pick = order[torch.linspace(0, len(order) - 1, min(n, len(order))).long()]
        return d.val_photo[pick], d.val_sketch[pick], d.val_style[pick]

    def extra_losses(self, loss: torch.Tensor, b: MaskedBatch, out: dict[str, float]) -> torch.Tensor:
        m, o = self.model, self.opts
        cfg = m.cfg
        B = b.target.shape[0]
        if self.teacher is not None:
            old = self.kept[torch.randint(0, len(self.kept), (B,), generator=self.generator)]
            old_style = self.to_device(F.one_hot(old, len(cfg.styles)).float())  # (B, K)
            with torch.no_grad():
                t_memory = self.teacher.condition(b.photo, b.structure, b.imagenet)
                t = self.teacher.logits(b.inputs, t_memory, old_style)  # (B, N, V)
            s_old = m.logits(b.inputs, b.memory, old_style)  # (B, N, V)
            keep = F.kl_div(s_old[b.mask].log_softmax(-1), t[b.mask].log_softmax(-1), log_target=True,
                            reduction="batchmean")
            loss = loss + o.keep_weight * keep
            out["keep_kl"] = keep.item()
        if o.pixel_weight or o.feature_weight:
            p = o.pixel_batch
            probs = b.logits[:p].float().softmax(-1)  # (p, N, K)
            known = F.one_hot(b.target[:p], probs.shape[-1]).float()
            probs = torch.where(b.mask[:p, :, None], probs, known)
            rec = m.tokenizer.decode_soft(probs)  # (p, 1, S, S)
            real = to_float(self.sketches[b.j[:p]])
            real = self.to_device(torch.where(b.flip[:p].view(-1, 1, 1, 1), real.flip(-1), real))
            pix = (rec - real).abs().mean()
            tok = m.tokenizer
            feat = (tok.features(rec) - tok.features(real)).abs().mean()
            loss = loss + o.pixel_weight * pix + o.feature_weight * feat
            out.update(pixel=pix.item(), feature=feat.item())
        return loss
