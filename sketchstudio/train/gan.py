"""The adversarial terms of VQ-GAN (taming), shared by the decoder and upscale stages: the
PatchGAN discriminator, its hinge loss, the generator's loss and taming's adaptive weight,
and the discriminator's part of a stage's training state."""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F


def new_discriminator(seed: int, channels: int):
    """taming's PatchGAN for grey images, its weights drawn after torch.manual_seed(seed)."""
    from taming.modules.discriminator.model import NLayerDiscriminator, weights_init

    torch.manual_seed(seed)
    disc = NLayerDiscriminator(input_nc=1, ndf=channels, n_layers=3)
    disc.apply(weights_init)
    return disc


def generator_loss(disc, fake: torch.Tensor) -> torch.Tensor:
    """-D(fake) for images in [0, 1]; the discriminator's weights get no gradient from it."""
    disc.requires_grad_(False)
    g_loss = -disc(fake * 2 - 1).mean()
    disc.requires_grad_(True)
    return g_loss


def adaptive_weight(nll: torch.Tensor, g_loss: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """taming's balance: |grad nll| / |grad g_loss| at the generator's last layer (detached)."""
    nll_grad = torch.autograd.grad(nll, last, retain_graph=True)[0]
    g_grad = torch.autograd.grad(g_loss, last, retain_graph=True)[0]
    return (nll_grad.norm() / (g_grad.norm() + 1e-4)).clamp(0, 1e4).detach()


def hinge_d_loss(disc, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge loss on real images vs (detached) generated ones, in [0, 1]."""
    return 0.5 * (F.relu(1 - disc(real * 2 - 1)).mean() + F.relu(1 + disc(fake.detach() * 2 - 1)).mean())


def disc_tensors(disc) -> dict[str, torch.Tensor]:
    """A discriminator's weights for a stage's training state, under `disc.`."""
    return {f"disc.{k}": v for k, v in disc.state_dict().items()}


def load_disc_tensors(disc, tensors: dict[str, torch.Tensor]) -> None:
    state = {k[len("disc."):]: v for k, v in tensors.items() if k.startswith("disc.")}
    if state:
        disc.load_state_dict(state)


def generator_then_discriminator(optimizer, loss: torch.Tensor, disc, real: torch.Tensor,
                                 fake: torch.Tensor, forward=contextlib.nullcontext,
                                 style: torch.Tensor | None = None) -> torch.Tensor:
    """Two steps of one optimizer that holds the generator's and the discriminator's weights:
    the generator's on `loss` (the discriminator has no gradients from it, see
    `generator_loss`), then the discriminator's on its hinge loss (the generated images are
    detached, so the generator has none). Returns the hinge loss. forward: the context for the
    discriminator's forward pass (the stage's autocast); style: the images' style weights
    (B, K), for a `StyleDiscriminator`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()  # discriminator grads are None here: only the generator moves
    optimizer.zero_grad(set_to_none=True)
    with forward():
        d_loss = hinge_d_loss(disc, real, fake) if style is None else style_hinge_d_loss(disc, real, fake, style)
    d_loss.backward()
    optimizer.step()  # generator grads are None now: only the discriminator moves
    return d_loss


class StyleDiscriminator(torch.nn.Module):
    """taming's PatchGAN at several scales (the image, then halved each time), each told the
    style: the style weights (B, K) enter as constant planes beside the grey image, so a
    charcoal stroke is judged against charcoal drawings. Its call returns, per scale, the
    patch logits and the activations of every hidden layer (for feature matching)."""

    MIN_SIDE = 32  # the smallest side a coarser scale is judged at

    def __init__(self, seed: int, channels: int, styles: int, scales: int = 2):
        super().__init__()
        from taming.modules.discriminator.model import NLayerDiscriminator, weights_init

        torch.manual_seed(seed)
        self.styles = styles
        self.nets = torch.nn.ModuleList(NLayerDiscriminator(input_nc=1 + styles, ndf=channels, n_layers=3)
                                        for _ in range(scales))
        self.apply(weights_init)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """x (B, 1, H, W) in [0, 1], style (B, K) -> per scale (logits (B, 1, h, w), [features])."""
        out = []
        for i, net in enumerate(self.nets):
            if i and min(x.shape[-2:]) >> i < self.MIN_SIDE:
                break  # too small for the patch layers: the coarser scales sit out
            xi = F.avg_pool2d(x, 2 ** i) if i else x
            h = torch.cat([xi * 2 - 1, style[:, :, None, None].to(xi.dtype).expand(-1, -1, *xi.shape[-2:])], dim=1)
            feats = []
            for layer in net.main:
                h = layer(h)
                if isinstance(layer, torch.nn.LeakyReLU):
                    feats.append(h)
            out.append((h, feats))
        return out


def style_generator_losses(disc: StyleDiscriminator, fake: torch.Tensor, real: torch.Tensor,
                           style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's hinge term -D(fake) (mean over scales) and feature matching: the mean
    L1 between the discriminator's activations on `fake` and on the paired `real` (detached),
    over every layer and scale. The discriminator's weights get no gradient from either."""
    disc.requires_grad_(False)
    try:
        with torch.no_grad():
            real_out = disc(real, style)
        fake_out = disc(fake, style)
    finally:
        disc.requires_grad_(True)
    g_loss = torch.stack([-logits.float().mean() for logits, _ in fake_out]).mean()
    fm = torch.stack([(f.float() - r.float()).abs().mean()
                      for (_, fs), (_, rs) in zip(fake_out, real_out) for f, r in zip(fs, rs)]).mean()
    return g_loss, fm


def style_hinge_d_loss(disc: StyleDiscriminator, real: torch.Tensor, fake: torch.Tensor,
                       style: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge loss on real images vs (detached) generated ones, mean over scales."""
    r = disc(real, style)
    f = disc(fake.detach(), style)
    return torch.stack([0.5 * (F.relu(1 - a.float()).mean() + F.relu(1 + b.float()).mean())
                        for (a, _), (b, _) in zip(r, f)]).mean()
