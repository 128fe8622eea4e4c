"""tools/bench/heldout_ce.py reads training states as well as model files (a stage's CE curve)."""
import copy

import pytest
import torch

from sketchstudio.core.checkpoint import save_model
from sketchstudio.train.state import save_state
from tools_loader import load_tool


def tool():
    return load_tool("bench/heldout_ce.py")


def test_a_training_state_is_read_into_its_base_model(tmp_path, tiny_model):
    base = tmp_path / "base.safetensors"
    save_model(tiny_model, base)
    trained = copy.deepcopy(tiny_model)
    with torch.no_grad():
        for p in trained.transformer.parameters():
            p.add_(0.25)
    state = tmp_path / "finetune.state.safetensors"
    save_state(state, trained, torch.optim.AdamW(trained.parameters()), torch.Generator(), 7)
    ce = tool()
    model, step = ce.load_any(str(state), str(base))
    assert step == 7
    for (k, a), b in zip(model.state_dict().items(), trained.state_dict().values()):
        assert torch.equal(a, b), k  # the state's weights, not the base's
    same, step = ce.load_any(str(base), None)
    assert step is None and torch.equal(next(same.transformer.parameters()), next(tiny_model.transformer.parameters()))
    with pytest.raises(SystemExit, match="--base"):
        ce.load_any(str(state), None)
