"""`sketchstudio bench`: decoding speed of a model on this machine.

Every ratio is against a baseline measured in the same run (a plain fp32
matmul for the arithmetic rate, autoregressive decoding of the same model for
MaskGIT's speed-up), because these machines are noisy.
"""
from __future__ import annotations

import json
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def _median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def matmul_gflops(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = _median_ms(lambda: a @ b, repeats)
    return 2 * n**3 / (ms * 1e-3) / 1e9


def sample_photo(size: int) -> torch.Tensor:
    """The shipped sample face (resources/sample_face.png) as the encoder sees it, (1, 3, size,
    size) in [0, 1]: a real face, so a model's face analysis does what it does for users."""
    import numpy as np
    from PIL import Image

    from .paths import resources_dir

    img = Image.open(resources_dir() / "sample_face.png").convert("RGB").resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 255.0


def run(model, repeats: int = 10, ar_tokens: int = 256, steps: int = 8, flush_denormal: bool = True,
        info: dict | None = None) -> dict:
    """info: the checkpoint's; its recommended sampler settings (style guidance doubles the
    transformer's batch) are what the full decode is timed with, as users run it."""
    from .core.face_structure import STRUCTURE_SIZE, forget_maps, structure_maps
    from .core.sampler import iter_steps, recommended_settings, sample

    torch.set_flush_denormal(flush_denormal)
    cfg = model.cfg
    torch.manual_seed(0)
    photo = sample_photo(model.photo_size)
    # A model that takes the face-structure map (v10) analyses each new photo's face: every
    # timed call below starts without the kept maps, as a new photo or webcam frame does.
    fresh = forget_maps if model.uses_structure or getattr(model.tokenizer.renderer, "takes_structure", False) else None

    def timed(fn):
        return fn if fresh is None else (lambda: (fresh(), fn()))
    style = torch.zeros(len(cfg.styles))
    style[0] = 1
    res: dict = {"preset": cfg.name, "threads": torch.get_num_threads(), "steps": steps}

    with torch.inference_mode():
        memory = model.condition(photo)
        masked = torch.full((1, cfg.num_tokens), cfg.mask_id)
        w = style[None]
        res["face_structure_ms"] = _median_ms(lambda: (forget_maps(), structure_maps(photo, STRUCTURE_SIZE)), repeats)
        res["encoder_ms"] = _median_ms(timed(lambda: model.condition(photo)), repeats)
        res["forward_ms"] = _median_ms(lambda: model.logits(masked, memory, w), repeats)
        ids = masked.clamp(max=cfg.tokenizer.codebook_size - 1)
        model.tokenizer.code_luma()  # one-off per codebook, not per decode
        res["decoder_ms"] = _median_ms(lambda: model.tokenizer.decode(ids), repeats)
        res["output_size"] = model.output_size
        # The finished sketch: the decoder plus the renderer or texture head, if any.
        res["render_ms"] = _median_ms(timed(lambda: model.decode(ids, style=style, photo=photo)), repeats)

        with FlopCounterMode(display=False) as fc:
            model.logits(masked, memory, w)
        flops = fc.get_total_flops()
        res["forward_gflop"] = flops / 1e9
        res["forward_gflops_rate"] = flops / (res["forward_ms"] * 1e-3) / 1e9
        res["matmul_gflops_rate"] = matmul_gflops()
        res["forward_over_matmul"] = res["forward_gflops_rate"] / res["matmul_gflops_rate"]

    settings = recommended_settings(info).with_(steps=steps, preview="cheap")
    res["style_guidance"] = settings.style_guidance
    res["self_guidance"] = settings.self_guidance
    res["decode_ms_median"] = _median_ms(timed(lambda: sample(model, photo, style, settings)), repeats)
    if settings.style_guidance or settings.self_guidance:  # the same decode without guidance, same run
        plain = settings.with_(style_guidance=0.0, self_guidance=0.0)
        res["decode_ms_unguided"] = _median_ms(timed(lambda: sample(model, photo, style, plain)), repeats)

    def first_preview():
        it = iter_steps(model, photo, style, settings.with_(preview="full"))
        next(it)
        it.close()

    res["first_preview_ms"] = _median_ms(timed(first_preview), repeats)
    res["face_structure_per_photo"] = fresh is not None

    # Autoregressive baseline: the same transformer, one token per forward, raster order.
    n_ar = min(ar_tokens, cfg.num_tokens)

    def autoregressive():
        with torch.inference_mode():
            mem = model.condition(photo)
            toks = masked.clone()
            for i in range(n_ar):
                toks[0, i] = model.logits(toks, mem, w)[0, i].argmax()
            model.decode(toks.clamp(max=cfg.tokenizer.codebook_size - 1))

    ar_ms = _median_ms(autoregressive, repeats=1, warmup=0)
    res["ar_tokens_timed"] = n_ar
    res["ar_decode_ms"] = ar_ms * cfg.num_tokens / n_ar  # extrapolated if fewer were timed
    # Like for like: the autoregressive baseline runs without guidance.
    res["ar_over_maskgit"] = res["ar_decode_ms"] / res.get("decode_ms_unguided", res["decode_ms_median"])
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def format_table(res: dict) -> str:
    rows = [
        ("preset", res["preset"]), ("torch threads", res["threads"]),
        ("face structure (analysis + map, a new photo)", f"{res['face_structure_ms']:.1f} ms"),
        ("photo encoder" + (" (with the face structure)" if res["face_structure_per_photo"] else ""),
         f"{res['encoder_ms']:.1f} ms"),
        ("transformer forward (batch 1)", f"{res['forward_ms']:.1f} ms"),
        ("transformer work per forward", f"{res['forward_gflop']:.2f} GFLOP"),
        ("transformer rate", f"{res['forward_gflops_rate']:.1f} GFLOP/s"),
        ("plain 1024² matmul rate", f"{res['matmul_gflops_rate']:.1f} GFLOP/s"),
        ("transformer / matmul", f"{res['forward_over_matmul']:.0%}"),
        ("VQ decoder", f"{res['decoder_ms']:.1f} ms"),
        (f"finished sketch ({res['output_size']} px, decoder + renderer)", f"{res['render_ms']:.1f} ms"),
        (f"full {res['steps']}-step decode (median)", f"{res['decode_ms_median']:.0f} ms"
         + (f" (style guidance {res['style_guidance']:g}, self-guidance {res['self_guidance']:g}; "
            f"{res['decode_ms_unguided']:.0f} ms without)" if "decode_ms_unguided" in res else "")),
        ("first full preview", f"{res['first_preview_ms']:.0f} ms"),
        ("timed with a new photo's face analysis", "yes" if res["face_structure_per_photo"] else "no (no map)"),
        ("autoregressive decode", f"{res['ar_decode_ms']:.0f} ms ({res['ar_tokens_timed']} tokens timed)"),
        ("MaskGIT speed-up (both unguided)", f"{res['ar_over_maskgit']:.1f}x"),
        ("peak RSS", f"{res['peak_rss_mb']:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(args) -> int:
    from .model_files import UserError, load
    from .core import build_model, preset
    from .core.encoder import ClipWeightsError

    info = None
    if args.model:
        model, info = load(args.model)[:2]
    else:
        try:
            model = build_model(preset(args.preset))
        except (ValueError, ClipWeightsError) as exc:  # unknown preset; paper without CLIP weights
            raise UserError(str(exc)) from None
    res = run(model, repeats=max(1, args.repeats), ar_tokens=args.ar_tokens, info=info)
    print(json.dumps(res, indent=2) if args.json else format_table(res))
    return 0
