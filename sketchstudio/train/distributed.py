"""Training on more than one device: `sketchstudio train ... --devices N`.

Lightning Fabric starts the processes and their process group (gloo on the CPU, NCCL on CUDA
GPUs; `launch`). Every rank builds the same model and stage, draws its own batches (rank 0
draws what a one-device run draws, rank r from its own seed), and before every optimizer step
the gradients are averaged over the ranks (`average_gradients`, what DDP's all-reduce does),
so the weights stay the same everywhere and the run trains on N batches a step. The
stages' code is not wrapped (a step calls `model.condition`, `model.logits`, the tokenizer
... rather than one `forward`, which is what DDP's hooks watch): the averaging hangs on the
optimizers instead. Rank 0 alone writes the run folder: data cache, loss log, previews,
checkpoints, models; the others wait for it at `barrier`.
"""
from __future__ import annotations

import torch
import torch.distributed as dist


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is true on any (a cancel, so that all ranks stop together)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([float(flag)])
    dist.all_reduce(t)
    return bool(t.item())


def launch(devices: int, accelerator: str, function, *args):
    """Run `function(*args)` in `devices` processes joined in one process group; rank 0's result."""
    from lightning_fabric import Fabric

    fabric = Fabric(accelerator=accelerator, devices=devices, strategy="ddp_spawn")
    return fabric.launch(_call, function, *args)


def _call(fabric, function, *args):
    # Each process's share of the cores: N processes on C cores, C // N threads each.
    if fabric.device.type == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads() // fabric.world_size))
    try:
        result = function(*args)
        barrier()  # no rank leaves while another is still in a collective
        return result
    finally:
        # Gloo's worker threads must stop before the interpreter does: a process that exits with
        # its group alive can die in C++ (std::terminate, SIGABRT) after its work is done.
        if dist.is_initialized():
            dist.destroy_process_group()


@torch.no_grad()
def average_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Every parameter's gradient averaged over the ranks. A parameter no rank has a gradient
    for keeps None (an optimizer skips it, as a one-device step would: the GAN stages rely on
    it); one that only some ranks have counts zero on the others."""
    n = world_size()
    if n == 1 or getattr(optimizer, "_grads_averaged", False):
        return
    params = [p for g in optimizer.param_groups for p in g["params"]]
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    dist.all_reduce(has)
    grads = []
    for p, h in zip(params, has.tolist()):
        if h == 0:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        grads.append(p.grad)
    if grads:
        flat = torch.cat([g.reshape(-1) for g in grads])  # one all-reduce, not one per tensor
        dist.all_reduce(flat)
        flat /= n
        i = 0
        for g in grads:
            g.copy_(flat[i:i + g.numel()].view_as(g))
            i += g.numel()
    optimizer._grads_averaged = True  # until its step: a stage that clips averages first


def _step_pre_hook(optimizer, args, kwargs):
    average_gradients(optimizer)


def _step_post_hook(optimizer, args, kwargs):
    optimizer._grads_averaged = False


def prepare_stage(stage, start: int) -> None:
    """Join `stage` to the process group: the same weights as rank 0, its own batches, and
    gradients averaged before each step of every optimizer it holds. Nothing on one device."""
    if world_size() == 1:
        return
    for p in stage.model.state_dict().values():
        dist.broadcast(p, 0)
    r = rank()
    if r:
        # Rank 0 keeps the stream a one-device run draws; the others their own, also after a resume.
        stage.generator.manual_seed(stage.generator.initial_seed() + 1_000_003 * r + start)
    for opt in {id(v): v for v in vars(stage).values() if isinstance(v, torch.optim.Optimizer)}.values():
        opt.register_step_pre_hook(_step_pre_hook)
        opt.register_step_post_hook(_step_post_hook)
