"""Flipped and truncated bytes in a model file give a clean CheckpointError, nothing else."""
import random

from sketchstudio.core.checkpoint import CheckpointError, load_model


def test_flipped_and_truncated_bytes_never_crash(tiny_checkpoint, tmp_path):
    data = tiny_checkpoint.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    rng = random.Random(0)
    outcomes = {"error": 0, "loaded": 0}
    for i in range(200):
        b = bytearray(data)
        if i % 3 == 0:
            b = b[: rng.randrange(0, len(b))]  # truncated anywhere
        else:
            # Flip bytes, biased towards the header where the structure lives.
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(0, 8 + header_len) if rng.random() < 0.7 else rng.randrange(0, len(b))
                b[pos] ^= 1 << rng.randrange(8)
        path = tmp_path / f"fuzz{i}.safetensors"
        path.write_bytes(bytes(b))
        try:
            load_model(path)
            outcomes["loaded"] += 1  # a flip inside weights can leave a valid, finite file
        except CheckpointError as exc:
            msg = str(exc)
            assert str(path) in msg and "\n" not in msg
            outcomes["error"] += 1
        path.unlink()
    assert outcomes["error"] > 100  # most corruptions are caught, the rest still load cleanly
