"""Styles a stage trains that its starting model lacks: add them; renumber the data's styles.

Adding a style to a trained model (fine-tuning on "my drawings") appends one row per new
name to the transformer's `style_emb`, each the mean of the existing rows: the new style
starts as the model's average look rather than as noise. Every other weight is kept.

`TrainingData` numbers its styles by `data.styles`; a stage needs indices into the model's
styles, which differ when the model came from `--init` (an existing model).
"""
from __future__ import annotations

import dataclasses

import torch

from ..core.model import SketchModel
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
    grown = SketchModel(model.cfg.with_styles(model.styles + new), clip_weights)
    grown.load_state_dict(state)
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
