"""Styles a stage trains that its starting model lacks: add them; renumber the data's styles.

Adding a style to a trained model (fine-tuning on "my drawings") appends one row per new
name to the transformer's `style_emb`, each the mean of the existing rows: the new style
starts as the model's average look rather than as noise; a style-aware renderer gets the
mean of its style columns the same way. Every other weight is kept.

`TrainingData` numbers its styles by `data.styles`; a stage needs indices into the model's
styles, which differ when the model came from `--init` (an existing model).
"""
from __future__ import annotations

import dataclasses

import torch

from ..core.model import SketchModel
from ..core.tone import identity_table
from ..data.cache import TrainingData


def stage_styles(stage: str, data: TrainingData) -> tuple[str, ...]:
    """The styles `stage` trains, in `data.styles` order (the tokenizer trains none)."""
    if stage == "finetune":
        used = torch.cat([data.real_style, data.val_style])
    elif stage == "pretrain":
        used = data.synth_style
    else:
        return ()
    ids = set(used.tolist())
    return tuple(s for i, s in enumerate(data.styles) if i in ids)


def add_styles(model: SketchModel, names, clip_weights=None) -> SketchModel:
    """`model` with the names it lacks appended to its styles; the model itself if none."""
    new = tuple(dict.fromkeys(n for n in names if n not in model.styles))
    if not new:
        return model
    state = model.state_dict()
    emb = state["transformer.style_emb"]  # (K, C)
    state["transformer.style_emb"] = torch.cat([emb, emb.mean(0, keepdim=True).expand(len(new), -1)])  # (K+k, C)
    film = state.get("tokenizer.renderer.style_film.weight")  # (F, K) for a style-aware renderer
    if film is not None:
        state["tokenizer.renderer.style_film.weight"] = torch.cat(
            [film, film.mean(1, keepdim=True).expand(-1, len(new))], dim=1)  # (F, K+k)
    tone = state.get("tokenizer.tone.table")  # (K, LEVELS): a new style's curve is the identity until fitted
    if tone is not None:
        state["tokenizer.tone.table"] = torch.cat([tone, identity_table(len(new)).to(tone)])  # (K+k, LEVELS)
    grown = SketchModel(model.cfg.with_styles(model.styles + new), clip_weights)
    grown.load_state_dict(state)
    return grown.train(model.training)


def add_adapters(model: SketchModel, names, rank: int, clip_weights=None) -> SketchModel:
    """`model` with a low-rank adapter of `rank` for each of the styles `names` that lacks one
    (the style must exist: add_styles first); the model itself if none. A new adapter's
    up-projection starts at zero, so the model draws exactly as before until it trains."""
    t = model.cfg.transformer
    new = tuple(n for n in dict.fromkeys(names) if n not in t.adapter_styles)
    if not new or rank <= 0:
        return model
    if t.adapter_styles and t.adapter_rank != rank:
        rank = t.adapter_rank  # one rank per model: the slots share their tensors
    tcfg = dataclasses.replace(t, adapter_rank=rank, adapter_styles=t.adapter_styles + new)
    grown = SketchModel(dataclasses.replace(model.cfg, transformer=tcfg), clip_weights)
    state = model.state_dict()
    fresh = grown.state_dict()
    for k, v in fresh.items():
        if k.endswith((".lora_a", ".lora_b")) and k in state:  # keep the old slots, append the new ones
            state[k] = torch.cat([state[k], v[state[k].shape[0]:]])
    grown.load_state_dict({**fresh, **state})  # new adapters keep their fresh initialisation
    return grown.train(model.training)


def align_styles(data: TrainingData, styles) -> TrainingData:
    """`data` with its style indices renumbered into `styles`.

    A name `styles` lacks becomes -1; `stage_styles` + `add_styles` make sure that only
    happens in tensors the current stage never reads (and one_hot(-1) would fail loudly).
    """
    styles = tuple(styles)
    if data.styles == styles:
        return data
    lut = torch.tensor([styles.index(s) if s in styles else -1 for s in data.styles], dtype=torch.long)
    return dataclasses.replace(data, styles=styles, real_style=lut[data.real_style],
                               synth_style=lut[data.synth_style], val_style=lut[data.val_style])
