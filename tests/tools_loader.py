"""A script under tools/ loaded as a module, for the tests of the benchmarks and probes."""
import importlib.util
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def load_tool(relative: str):
    """tools/`relative` (e.g. "bench/soak.py") as a fresh module named after the file."""
    path = TOOLS / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
