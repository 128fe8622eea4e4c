"""Issue 33, item 3: the transformer in ONNX Runtime (fp32 and dynamic int8) against the torch
path, measured in one run: speed of one pass, tokens picked, and the finished sketches.

    .venv/bin/pip install onnxruntime onnx        # not project dependencies: a probe's
    .venv/bin/python tools/probes/onnx_transformer.py [--model M] --val RUN/val [--limit 12] [--out DIR]

1. Exports the model's transformer (fp32, logits and the self-guidance head's) with
   `torch.onnx.export` (TorchScript exporter, opset 17), and quantizes its MatMuls to int8
   with `onnxruntime.quantization.quantize_dynamic`.
2. One pass, batch 1, the sample face's memory, half the tokens masked, median of --repeats:
   torch as the app runs it (`SketchModel.logits`: the bf16 twin on a bf16 CPU, else fp32),
   torch fp32, ORT fp32, ORT int8; and how often each picks fp32's argmax.
3. Whole decodes of the --val photos with the model's recommended settings, the same seed:
   the app's path against ORT int8 (as the app's `logits`) — the share of tokens that are the
   same, SCOOT of the two finished sketches against each other, and of each against the
   artist's drawing; --out writes photo | drawing | torch | ORT int8 sheets to look at 1:1.
A measurement, not a test: speed moves with the machine's load.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


class _Core(torch.nn.Module):
    """The transformer with plain tensor inputs: tokens, the memory's tokens, its keys/values
    stacked (L, 2, B, h, M, c), style weights -> (logits, smoothed logits)."""

    def __init__(self, transformer):
        super().__init__()
        self.t = transformer

    def forward(self, tokens, mem_tokens, kv, style_w):
        from sketchstudio.core.transformer import Memory

        return self.t(tokens, Memory(mem_tokens, list(kv.unbind(0))), style_w, return_smooth=True)


def export(model, memory, style, folder: Path) -> tuple[Path, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tokens = torch.full((1, model.cfg.num_tokens), model.cfg.mask_id, dtype=torch.long)
    args = (tokens, memory.tokens.float(), torch.stack([kv.float() for kv in memory.kv]), style)
    fp32, int8 = folder / "transformer.onnx", folder / "transformer.int8.onnx"
    names = ["tokens", "mem_tokens", "kv", "style"]
    axes = {"tokens": {0: "b"}, "mem_tokens": {0: "b"}, "kv": {2: "b"}, "style": {0: "b"}}
    with torch.no_grad():
        torch.onnx.export(_Core(model.transformer).eval(), args, str(fp32), dynamo=False, opset_version=17,
                          input_names=names, output_names=["logits", "smooth"], dynamic_axes=axes)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8




def session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_logits(sess):
    """A stand-in for `SketchModel.logits` that runs the transformer in `sess`."""

    def logits(tokens, memory, style_weights, return_smooth=False):
        kv = torch.stack([kv.float() for kv in memory.kv])
        out = sess.run(None, {"tokens": tokens.numpy(), "mem_tokens": memory.tokens.float().numpy(),
                              "kv": kv.numpy(), "style": style_weights.float().numpy()})
        lg, sm = (torch.from_numpy(o) for o in out)
        return (lg, sm) if return_smooth else lg

    return logits


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--val", help="a run's val folder (pairs.csv): whole decodes of its photos")
    p.add_argument("--limit", type=int, default=12)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--out", help="write the 1:1 sheets here")
    args = p.parse_args(argv)
    from PIL import Image

    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.core.metrics import scoot
    from sketchstudio.core.sampler import sample
    from sketchstudio.model_files import load, sampler_settings
    from sketchstudio.paths import resources_dir

    torch.set_flush_denormal(True)
    threads = torch.get_num_threads()
    model, info, mid = load(args.model)
    settings = sampler_settings(argparse.Namespace(), info)
    face = Photo.from_image(Image.open(resources_dir() / "sample_face.png"))
    x = face.tensor(model.photo_size)
    style = torch.zeros(1, len(model.styles))
    style[0, 0] = 1
    with torch.inference_mode():
        memory = model.condition(x)
    tmp = Path(tempfile.mkdtemp(prefix="onnx_probe_"))
    with torch.inference_mode(False):
        fp32_path, int8_path = export(model, memory, style, tmp)
    s32, s8 = session(fp32_path, threads), session(int8_path, threads)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens), generator=g)
    tokens = torch.where(torch.rand(ids.shape, generator=g) < 0.5, model.cfg.mask_id, ids)
    paths = {"torch, as the app runs it": model.logits, "torch fp32": lambda *a, **k: model.transformer(*a, **k),
             "ORT fp32": ort_logits(s32), "ORT int8": ort_logits(s8)}
    print(f"{mid}; {threads} threads; one pass, batch 1, half the tokens masked, median of {args.repeats}")
    with torch.inference_mode():
        ref = model.transformer(tokens, memory, style).float().argmax(-1)
        masked = tokens == model.cfg.mask_id
        for name, fn in paths.items():
            ms = timed(lambda: fn(tokens, memory, style), args.repeats)
            agree = float((fn(tokens, memory, style).float().argmax(-1) == ref)[masked].float().mean())
            print(f"  {name:26s} {ms:6.1f} ms   picks fp32's argmax at {100 * agree:5.1f} % of masked positions")
    if not args.val:
        return 0
    rows = list(csv.DictReader(open(Path(args.val) / "pairs.csv")))[:args.limit]
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    same, between, vs_draw = [], [], {"torch": [], "int8": []}
    app_logits = model.logits
    for k, r in enumerate(rows):
        ph = Photo.from_image(Image.open(r["photo"]))
        drawing = np.asarray(Image.open(r["sketch"]).convert("L"))
        st = torch.zeros(len(model.styles))
        st[int(r["style"])] = 1
        px = ph.tensor(model.photo_size)
        sketches = {}
        with torch.inference_mode():
            for name, fn in (("torch", app_logits), ("int8", ort_logits(s8))):
                model.logits = fn
                try:
                    res = sample(model, px, st, settings.with_(preview="none"))
                finally:
                    model.logits = app_logits
                sk = model.decode(res.tokens, (drawing.shape[0], drawing.shape[1]), style=st[None], photo=px)
                sketches[name] = ((sk[0, 0].clamp(0, 1) * 255).round().byte().numpy(), res.tokens)
        same.append(float((sketches["torch"][1] == sketches["int8"][1]).float().mean()))
        between.append(scoot(sketches["torch"][0], sketches["int8"][0]))
        for name in vs_draw:
            vs_draw[name].append(scoot(sketches[name][0], drawing))
        if out:
            tiles = [Image.open(r["photo"]).convert("L").resize(drawing.shape[::-1]), Image.fromarray(drawing),
                     Image.fromarray(sketches["torch"][0]), Image.fromarray(sketches["int8"][0])]
            sheet = Image.new("L", (sum(t.width for t in tiles), drawing.shape[0]), 255)
            xoff = 0
            for t in tiles:
                sheet.paste(t, (xoff, 0))
                xoff += t.width
            sheet.save(out / f"pair{k:02d}.png")
    print(f"whole decodes of {len(rows)} val photos, recommended settings ({settings.steps} steps), the same seed:")
    print(f"  tokens the same: {100 * np.mean(same):.1f} %; SCOOT torch vs ORT int8 sketch {np.mean(between):.3f}")
    print(f"  SCOOT against the drawing: torch {np.mean(vs_draw['torch']):.3f}, ORT int8 {np.mean(vs_draw['int8']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
