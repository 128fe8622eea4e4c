"""A stand-in for a GPU in the tests: the meta device. Like CUDA it refuses to mix its tensors
with (non-scalar) CPU tensors, so training on it catches any tensor the code forgot to move;
it stores no data, so the few operations that read values (`.item()`, `int()`, boolean
indexing, `unique`, copies back to the CPU) get fixed stand-in values from `StandIns`. What it
cannot check: CUDA's kernels, bf16 autocast (off on any device but CUDA), speed, memory."""
from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
META = torch.device("meta")


def _on_meta(x) -> bool:
    return isinstance(x, torch.Tensor) and x.device.type == "meta"


class StandIns(TorchDispatchMode):
    """Answers the value-reading operations on meta tensors with fixed values of the right shape."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.__name__.split(".")[0]
        if not any(_on_meta(a) for a in args):
            return func(*args, **kwargs)
        x = args[0]
        if name in ("_to_copy", "to") and kwargs.get("device") is not None and torch.device(kwargs["device"]).type == "cpu":
            return torch.zeros(x.shape, dtype=kwargs.get("dtype") or x.dtype)  # a copy back to the CPU
        if func is aten.copy_.default and x.device.type == "cpu":
            return x
        if func is aten.bincount.default:
            return torch.zeros(kwargs.get("minlength", args[2] if len(args) > 2 else 1), dtype=torch.long, device=META)
        if func is aten.nonzero.default:  # as if every element were non-zero
            return torch.zeros(x.numel(), x.dim(), dtype=torch.long, device=META)
        if func is aten._unique2.default:
            flat = x.flatten()
            return flat, torch.zeros_like(flat), torch.ones_like(flat)
        if func is aten.index.Tensor and any(i is not None and i.dtype == torch.bool for i in args[1]):
            (mask,) = [i for i in args[1] if i is not None]  # x[mask]: as if the mask selected everything
            return x.reshape(-1, *x.shape[mask.dim():])
        return func(*args, **kwargs)


def patch_value_reads(monkeypatch) -> None:
    """`.item()`, `int()`, `float()`, `bool()`, `.tolist()` of a meta tensor: 1 / 0.5 / True / zeros."""
    for kind in ("item", "__int__", "__index__", "__float__", "__bool__", "tolist"):
        real = getattr(torch.Tensor, kind)

        def read(self, *a, _real=real, _kind=kind, **k):
            if self.device.type != "meta":
                return _real(self, *a, **k)
            if _kind == "tolist":
                return torch.zeros(self.shape, dtype=self.dtype).tolist()
            if _kind == "__bool__":
                return True
            if _kind in ("__int__", "__index__"):
                return 1
            return 0.5 if (_kind == "__float__" or self.dtype.is_floating_point) else 1

        monkeypatch.setattr(torch.Tensor, kind, read)
