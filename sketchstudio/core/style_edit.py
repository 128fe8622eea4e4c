"""Renaming and removing a model's styles (issue 13: styles belong to the user).

Every tensor a style owns is indexed by its position: its row of the transformer's
`style_emb`, its column of a style-aware renderer's table and, for a style an artist added,
its adapter slot. Renaming changes only names; removing drops exactly what the style owns,
so every other style draws bit for bit as before. Both return a new model; the caller
decides where to save it (the shipped model is never overwritten).
"""
from __future__ import annotations

import dataclasses

from .model import SketchModel
from .styles import StyleError, canonical

# Characters a style name cannot hold: mixes are written "contour=0.5,pencil=0.5".
FORBIDDEN = ",=\n"


def check_name(name: str, styles: tuple[str, ...], current: str | None = None) -> str:
    """A usable new style name (stripped), or StyleError saying why not."""
    name = name.strip()
    if not name:
        raise StyleError("a style needs a name")
    if any(c in name for c in FORBIDDEN):
        raise StyleError("commas, '=' and line breaks are not allowed in a style name")
    if len(name) > 40:
        raise StyleError("a style name has at most 40 characters")
    if any(s.lower() == name.lower() and s != current for s in styles):
        raise StyleError(f"the model already has a style called {name!r}")
    return name


def _rebuild(model: SketchModel, cfg, state: dict) -> SketchModel:
    out = SketchModel(cfg)
    out.load_state_dict(state)
    return out.train(model.training)


def rename_style(model: SketchModel, old: str, new: str) -> SketchModel:
    """`model` with style `old` called `new`; every weight unchanged."""
    old = canonical(old, model.styles)
    new = check_name(new, model.styles, current=old)
    styles = tuple(new if s == old else s for s in model.styles)
    t = model.cfg.transformer
    tcfg = dataclasses.replace(t, adapter_styles=tuple(new if s == old else s for s in t.adapter_styles))
    cfg = dataclasses.replace(model.cfg, styles=styles, transformer=tcfg)
    return _rebuild(model, cfg, model.state_dict())


def remove_style(model: SketchModel, name: str) -> SketchModel:
    """`model` without style `name` and without everything only it used."""
    name = canonical(name, model.styles)
    if len(model.styles) == 1:
        raise StyleError("a model needs at least one style")
    k = model.styles.index(name)
    keep = [i for i in range(len(model.styles)) if i != k]
    state = dict(model.state_dict())
    state["transformer.style_emb"] = state["transformer.style_emb"][keep]
    film = "tokenizer.renderer.style_film.weight"
    if film in state:
        state[film] = state[film][:, keep]
    if "tokenizer.tone.table" in state:
        state["tokenizer.tone.table"] = state["tokenizer.tone.table"][keep]
    t = model.cfg.transformer
    adapters = t.adapter_styles
    if name in adapters:
        slot = adapters.index(name)
        slots = [i for i in range(len(adapters)) if i != slot]
        for key in [key for key in state if key.endswith((".lora_a", ".lora_b"))]:
            if slots:
                state[key] = state[key][slots]
            else:
                del state[key]
        adapters = tuple(s for s in adapters if s != name)
    tcfg = dataclasses.replace(t, adapter_styles=adapters, adapter_rank=t.adapter_rank if adapters else 0)
    # with_styles keeps a style-aware renderer's column count in step with the styles.
    cfg = dataclasses.replace(model.cfg, transformer=tcfg).with_styles(tuple(s for s in model.styles if s != name))
    return _rebuild(model, cfg, state)
