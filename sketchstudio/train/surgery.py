"""Model surgery for the stages that add a head to the tokenizer: each returns the model grown
by an untrained (or zero-initialised) head, every other weight copied over, so it draws as
before until the stage trains the head. (New styles and their adapters: train/styles.py.)"""
from __future__ import annotations

import dataclasses

from ..core.model import SketchModel


def _grown(model: SketchModel, tokenizer_cfg, state: dict, new: str, clip_weights) -> SketchModel:
    """A model with `tokenizer_cfg`, loaded from `state`; only weights under `new` may be missing."""
    grown = SketchModel(dataclasses.replace(model.cfg, tokenizer=tokenizer_cfg), clip_weights)
    missing, unexpected = grown.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith(new) for k in missing), (missing, unexpected)
    return grown.train(model.training)


def add_refiner(model: SketchModel, width: int, clip_weights=None) -> SketchModel:
    """`model` with a full-resolution refinement head on its tokenizer (zero-initialised, so it
    draws exactly as before); the model itself if it has one or `width` is 0. (Decoder stage.)"""
    tcfg = model.cfg.tokenizer
    if tcfg.refine_channels or not width:
        return model
    return _grown(model, dataclasses.replace(tcfg, refine_channels=width), model.state_dict(), "tokenizer.refine.",
                  clip_weights)


def add_upscaler(model: SketchModel, factor: int, width: int, clip_weights=None) -> SketchModel:
    """`model` with an untrained texture head (it only resizes until trained) that draws at
    `factor` x the decoder's size unless asked for another; the model itself if it has one or
    `width` is 0. (Upscale stage.)"""
    tcfg = model.cfg.tokenizer
    if tcfg.upscale_channels or not width:
        return model
    return _grown(model, dataclasses.replace(tcfg, upscale=factor, upscale_channels=width), model.state_dict(),
                  "tokenizer.upscaler.", clip_weights)


def add_renderer(model: SketchModel, factor: int, width: int, clip_weights=None, styled: bool = True,
                 photo: bool = False, structure: int = 0, imagenet: int = 0) -> SketchModel:
    """`model` with a stroke renderer: an untrained one (it only resizes until trained) in
    place of any texture head, drawing at `factor` x the decoder's size unless asked for
    another. An existing renderer is kept and given what it lacks, at zero so it draws as
    before until trained: with `styled`, a style table (a v4 renderer becomes style-aware);
    with `photo`, the photo path (model v6); with `structure` channels, the face-structure
    path (model v10; its person mask gates the photo's edges from the start); with `imagenet`
    channels, the ImageNet maps' path (the encoder must hold the trunk). The model itself if
    there is nothing to add or `width` is 0. (Render stage.)"""
    tcfg = model.cfg.tokenizer
    if not width:
        return model
    if imagenet and not model.uses_imagenet:
        raise ValueError("a renderer that takes ImageNet maps needs a model whose encoder has them "
                         "(train finetune --imagenet-weights first)")
    if tcfg.renderer_channels:  # keep the renderer, add what it lacks
        tok = dataclasses.replace(tcfg, renderer_styles=tcfg.renderer_styles or (len(model.styles) if styled else 0),
                                  renderer_photo=tcfg.renderer_photo or photo,
                                  renderer_structure=tcfg.renderer_structure or structure,
                                  renderer_imagenet=tcfg.renderer_imagenet or imagenet)
        if tok == tcfg:
            return model
        state = model.state_dict()
    else:
        factor = tcfg.upscale if tcfg.upscale_channels else factor
        tok = dataclasses.replace(tcfg, upscale=factor, upscale_channels=0, renderer_channels=width,
                                  renderer_styles=len(model.styles) if styled else 0, renderer_photo=photo,
                                  renderer_structure=structure, renderer_imagenet=imagenet)
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("tokenizer.upscaler.")}
    return _grown(model, tok, state, "tokenizer.renderer.", clip_weights)


def add_structure(model: SketchModel, channels: int, clip_weights=None) -> SketchModel:
    """`model` with a face-structure path into its photo encoder (zero-initialised, so it draws
    exactly as before until trained); the model itself if it has one or `channels` is 0."""
    ecfg = model.cfg.encoder
    if ecfg.structure_channels or not channels:
        return model
    cfg = dataclasses.replace(model.cfg, encoder=dataclasses.replace(ecfg, structure_channels=channels))
    grown = SketchModel(cfg, clip_weights)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("encoder.structure_embed.") for k in missing), (missing, unexpected)
    return grown.train(model.training)


def add_imagenet(model: SketchModel, weights, clip_weights=None) -> SketchModel:
    """`model` with frozen ImageNet features in its photo encoder (core/imagenet.py), loaded from
    torchvision's checkpoint file `weights`, through a zero-initialised projection (so it draws
    exactly as before until trained); the model itself if it has them or `weights` is None."""
    ecfg = model.cfg.encoder
    if ecfg.imagenet_channels or weights is None:
        return model
    from ..core.imagenet import STRIDE16_CHANNELS

    cfg = dataclasses.replace(model.cfg, encoder=dataclasses.replace(ecfg, imagenet_channels=STRIDE16_CHANNELS))
    grown = SketchModel(cfg, clip_weights)
    grown.encoder.imagenet.load_torchvision_weights(weights)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("encoder.imagenet.", "encoder.imagenet_embed.")) for k in missing), \
        (missing, unexpected)
    return grown.train(model.training)


def add_tone(model: SketchModel, clip_weights=None) -> SketchModel:
    """`model` with per-style tone curves on its finished sketch (core/tone.py), each the
    identity, so it draws exactly as before until `train tone` fits them; the model itself if it
    has them. (Tone stage.)"""
    tcfg = model.cfg.tokenizer
    if tcfg.tone_styles:
        return model
    return _grown(model, dataclasses.replace(tcfg, tone_styles=len(model.styles)), model.state_dict(),
                  "tokenizer.tone.", clip_weights)
