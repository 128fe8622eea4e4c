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
                                 fake: torch.Tensor, forward=contextlib.nullcontext) -> torch.Tensor:
    """Two steps of one optimizer that holds the generator's and the discriminator's weights:
    the generator's on `loss` (the discriminator has no gradients from it, see
    `generator_loss`), then the discriminator's on its hinge loss (the generated images are
    detached, so the generator has none). Returns the hinge loss. forward: the context for the
    discriminator's forward pass (the stage's autocast)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()  # discriminator grads are None here: only the generator moves
    optimizer.zero_grad(set_to_none=True)
    with forward():
        d_loss = hinge_d_loss(disc, real, fake)
    d_loss.backward()
    optimizer.step()  # generator grads are None now: only the discriminator moves
    return d_loss
