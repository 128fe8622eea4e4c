"""PyInstaller runtime hook of the CPU-only (slimmed) build; build.spec adds it with the slimming.

torch._native (imported by `import torch`) puts Python overrides in front of some CUDA kernels
(aten::linalg_polar, ...) and first asks the dispatcher for the CUDA kernel it wraps; in the
slimmed folder libtorch_cuda.so is a stub, no CUDA kernel exists, and `import torch` fails with
"no kernel for CUDA for aten::linalg_polar.out". torch lets a user function reorder those
override graphs (TORCH_PYTHON_NATIVE_USER_GRAPH_ORDER_FN); this one empties the CUDA ones,
which leaves CPU kernels as they are.
"""
import os
import sys
import types


def _drop_cuda_overrides(op_symbol, dispatch_key, graph):
    return [] if dispatch_key == "CUDA" else graph


_module = types.ModuleType("_sketchstudio_cpu_only")
_module.drop_cuda_overrides = _drop_cuda_overrides
sys.modules[_module.__name__] = _module
os.environ.setdefault("TORCH_PYTHON_NATIVE_USER_GRAPH_ORDER_FN", "_sketchstudio_cpu_only.drop_cuda_overrides")
