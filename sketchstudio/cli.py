"""`sketchstudio` command line: the GUI with no arguments, headless subcommands otherwise."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .model_files import OUTPUT_SIZES, UserError, load, sampler_settings


def add_sampler_options(p) -> None:
    """--steps, --temperature, --self-guidance, --style-guidance: default, the model's recommendation."""
    p.add_argument("--steps", type=int, help="decoding steps (default: the model's recommendation, else 8)")
    p.add_argument("--temperature", type=float, help="token sampling temperature (default: the model's, else 1)")
    p.add_argument("--self-guidance", type=float, help="self-guidance scale (default: the model's, else 0)")
    p.add_argument("--style-guidance", type=float, help="style guidance scale (default: the model's, else 0)")


# --- sketch -------------------------------------------------------------------------
def write_png(im, path: Path, text: dict | None = None) -> bool:
    """save_png (atomic: a failed write leaves the old file); on a full disk or a read-only
    folder one line on stderr and False."""
    from tqdm import tqdm

    from .core.imaging import save_png

    try:
        save_png(im, path, text)
    except OSError as exc:
        tqdm.write(f"error: {path}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return False
    return True


def write_svg(im, path: Path) -> bool:
    """The sketch as vector paths (sketch_svg), atomically; like write_png on a failed write."""
    from tqdm import tqdm

    from .sketch_svg import save_svg

    try:
        save_svg(im, path)
    except OSError as exc:
        tqdm.write(f"error: {path}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return False
    return True


def cmd_sketch(args) -> int:
    import torch
    from tqdm import tqdm

    from .core.imaging import ImageLoadError, tensor_to_image
    from .core.sampler import finished, iter_steps
    from .core.styles import StyleError, parse_style
    from .core.tokenizer import render_size
    from .data.datasets import unique_stems
    from .data.prepare import prepare_photo
    from .sketch_file import png_text, sketch_metadata

    model, info, mid = load(args.model, args.clip_weights)
    try:
        weights = parse_style(args.style, model.styles)
        settings = sampler_settings(args, info).with_(
            seed=args.seed, schedule=args.schedule, preview="full" if args.save_steps else "none")
    except (StyleError, ValueError) as exc:
        raise UserError(str(exc)) from None
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create output folder ({exc.strerror})") from None

    failures = 0
    bar = tqdm(total=len(args.photos) * settings.steps, unit="step", disable=args.quiet, file=sys.stderr)
    for photo_path, stem in zip(args.photos, unique_stems(args.photos)):
        bar.set_description(Path(photo_path).name[:30])
        try:
            prep = prepare_photo(photo_path, model.photo_size, args.crop)
        except ImageLoadError as exc:
            tqdm.write(f"error: {exc}", file=sys.stderr)
            failures += 1
            bar.update(settings.steps)
            continue
        if prep.warning:
            tqdm.write(f"warning: {photo_path}: {prep.warning}", file=sys.stderr)
        step_dir = out / stem
        last, written = None, True
        for last in iter_steps(model, prep.tensor, torch.tensor(weights), settings):
            if args.save_steps and written:
                written = write_png(tensor_to_image(last.preview[0]), step_dir / f"step_{last.step + 1:02d}.png")
            bar.update(1)
        if not written:
            failures += 1
            continue
        # (H, W): the face square at the model's size or --size; the whole photo at its own
        # size or with --size on its longer side. The renderer draws there directly.
        if args.crop == "none":
            size = render_size(prep.original_size, args.size)
        else:
            size = (args.size, args.size) if args.size else None
        with torch.inference_mode():  # last.tokens is an inference tensor; decoding must not track grads
            sketch = tensor_to_image(finished(model, last, size)[0])
        if args.crop == "none" and not args.size and sketch.size != prep.original_size:
            sketch = sketch.resize(prep.original_size, resample=3)  # bicubic, up to a very large photo's size
        meta = sketch_metadata(weights, model.styles, settings, args.crop, mid, **prep.crop_settings())
        written = write_png(sketch, out / f"{stem}.png", png_text(meta))
        if not written or (args.svg and not write_svg(sketch, out / f"{stem}.svg")):
            failures += 1
    bar.close()
    done = len(args.photos) - failures
    if not args.quiet:
        print(f"wrote {done} sketch{'es' if done != 1 else ''} to {out}"
              + (f"; {failures} failed" if failures else ""), file=sys.stderr)
    return 1 if failures else 0


# --- bench --------------------------------------------------------------------------
def cmd_bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(args)


# `train` options that reach StageOptions under their own name only when given, so the
# stage's defaults stand otherwise.
GIVEN_STAGE_OPTIONS = ("render_photo", "render_sampled", "render_draws", "render_temperature",
                       "render_style_guidance", "render_tone", "render_adversarial", "render_part_weight",
                       "render_block_contrast", "render_lr", "distill_guidance", "imagenet_weights",
                       "photo_changes", "photo_change_variants", "render_imagenet", "render_perceptual")


def cmd_train(args) -> int:
    if args.devices < 1:
        raise UserError(f"--devices {args.devices}: at least 1")
    if args.devices == 1:
        return train_on_this_process(args)
    from .train.device import resolve_device
    from .train.distributed import launch

    try:
        accelerator = resolve_device(args.device).type
    except ValueError as exc:
        raise UserError(str(exc)) from None
    code, error = launch(args.devices, accelerator, _train_rank, args)
    if error:
        raise UserError(error)
    return code


def _train_rank(args) -> tuple[int, str | None]:
    """One rank of a --devices N run: (exit code, a one-line error or None); rank 0 reports."""
    from .train.distributed import is_main

    if not is_main():
        args.quiet = True
    try:
        return train_on_this_process(args, report=is_main()), None
    except UserError as exc:
        return 2, str(exc)


def train_on_this_process(args, report: bool = True) -> int:
    from tqdm import tqdm

    from .core.checkpoint import CheckpointError
    from .core.encoder import ClipWeightsError
    from .core.imagenet import ImageNetWeightsError
    from .core.sampler import CancelToken
    from .data.cache import Source
    from .train.pipeline import ALL_STAGES, PipelineOptions, run_pipeline
    from .train.base import StageOptions
    from .train.device import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    stages = ALL_STAGES if args.stage == "all" else (args.stage,)
    steps = {s: args.max_steps for s in stages} if args.max_steps else None
    opts = PipelineOptions(
        stages=stages, config=args.config, steps=steps, resume=args.resume, init=args.init,
        clip_weights=args.clip_weights, checkpoint_every=args.checkpoint_every,
        preview_every=args.preview_every, stage_options=StageOptions(
            batch=args.batch, lr=args.lr, keep_weight=args.keep_weight, device=str(device),
            **({} if not args.structure else {"structure": True}),
            **({} if not args.bf16 else {"cpu_bf16": True}),
            **{k: getattr(args, k) for k in GIVEN_STAGE_OPTIONS if getattr(args, k) is not None}),
    )
    sources = [Source(Path(p), args.style) for p in args.data]
    bar, bar_stage = None, None
    cancel = CancelToken()

    def on_interrupt(signum, frame):
        # First Ctrl+C: stop at the next step boundary with a checkpoint; a second one aborts.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        for ev in run_pipeline(sources, args.out, opts, cancel):
            if ev.kind in ("start", "step") and bar_stage != ev.stage:
                if bar is not None:
                    bar.close()
                bar_stage = ev.stage
                bar = tqdm(total=ev.total, initial=ev.step, desc=ev.stage, unit="step", file=sys.stderr,
                           disable=args.quiet)
            if ev.kind == "step":
                bar.update(ev.step - bar.n)
                if ev.losses:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in list(ev.losses.items())[:3]}, refresh=False)
            elif report and (ev.kind in ("preview", "done", "cancelled") or ev.message):
                text = " ".join(f"{k}={v:.4f}" for k, v in ev.losses.items())
                line = f"[{ev.stage}] {ev.kind} step {ev.step}/{ev.total} {text} {ev.message} {ev.path or ''}"
                (tqdm.write if bar else print)(line.strip(), file=sys.stderr)
    except (CheckpointError, ClipWeightsError, ImageNetWeightsError, FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # a full disk or a read-only run folder while writing a checkpoint
        raise UserError(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    return 130 if cancel.cancelled else 0


def webp_quality(text: str) -> int | str:
    """--photo-quality / --drawing-quality: 1-100, or "lossless"."""
    if text == "lossless":
        return text
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a quality 1-100, or lossless")
    return int(text)


def cmd_pack(args) -> int:
    from tqdm import tqdm

    from .core.config import preset
    from .data.cache import Source, build_training_data
    from .data.datasets import DataReport
    from .data.pack import DRAWING_QUALITY, PHOTO_QUALITY, pack_training_data

    def quality(given, default):  # None: not given; "lossless": PNG, which pack_training_data calls None
        return default if given is None else (None if given == "lossless" else given)

    report = DataReport()
    bar = tqdm(desc="reading", unit="file", file=sys.stderr, disable=args.quiet)

    def progress(i, n):
        bar.total = n
        bar.update(i - bar.n)

    sources = [Source(Path(p), args.style) for p in args.data]
    data, val = build_training_data(sources, preset(args.config).tokenizer.image_size, report, progress=progress,
                                    native=True)
    bar.close()
    if len(data.real_style) + len(data.synth_style) == 0:
        raise UserError(f"no usable training data in {', '.join(args.data)}")
    try:
        size = pack_training_data(data, val, args.out, report, quality(args.photo_quality, PHOTO_QUALITY),
                                  quality(args.drawing_quality, DRAWING_QUALITY))
    except OSError as exc:
        raise UserError(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}: {size / 1e6:.1f} MB; {len(data.real_style)} training pairs, {len(data.val_style)} held "
          f"out, {len(data.photos)} photos, {len(data.synth_style)} synthetic sketches (made again when unpacked); "
          f"{len(report)} files skipped", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from .evaluate import main as eval_main

    return eval_main(args)


def cmd_gui(args) -> int:
    try:
        from .app.main import run_app
    except ImportError as exc:
        raise UserError(f"the GUI needs PySide6 and its system libraries ({exc})") from None
    return run_app(model_path=args.model, self_test=args.self_test, quit_when_ready=args.quit_when_ready)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="sketchstudio", description="Face photos to hand-drawn sketches.")
    p.add_argument("--version", action="version", version=f"sketchstudio {__version__}")
    p.add_argument("--model", help="model .safetensors (default: the shipped model)")
    p.add_argument("--self-test", action="store_true", help="start the window, run a check, exit")
    p.add_argument("--quit-when-ready", action="store_true",
                   help="start the window, print the seconds from launch until it is ready, exit")
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("sketch", help="sketch photos to PNG files")
    s.add_argument("photos", nargs="+", metavar="PHOTO")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--model", help="model .safetensors (default: the shipped model)")
    s.add_argument("--clip-weights", help="local CLIP weights for models built on ViT-L/14")
    s.add_argument("--style", help="a style name, or a mix like contour=0.5,pencil=0.5")
    add_sampler_options(s)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--schedule", default="cosine")
    s.add_argument("--crop", choices=("face", "none"), default="face")
    s.add_argument("--size", type=int, choices=OUTPUT_SIZES, help="pixels on the sketch's longer side, drawn at that size "
                   "(default: the model's size for a face crop, the photo's own size with --crop none)")
    s.add_argument("--save-steps", action="store_true", help="also write every decoding step")
    s.add_argument("--svg", action="store_true", help="also write each sketch as vector paths (STEM.svg)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_sketch)

    b = sub.add_parser("bench", help="measure decoding speed")
    b.add_argument("--model", help="a model file (default: the default preset, random weights)")
    b.add_argument("--preset", default="default")
    b.add_argument("--repeats", type=int, default=10)
    b.add_argument("--ar-tokens", type=int, default=32,
                   help="autoregressive tokens to time (the full 256 is extrapolated)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)

    t = sub.add_parser("train", help="train the tokenizer, its adversarial decoder, pre-train, fine-tune, "
                                     "the stroke renderer, fit the styles' tone curves, or all six (upscale: v3's "
                                     "texture head; distill: style guidance distilled into one pass)")
    t.add_argument("stage", choices=("tokenizer", "decoder", "upscale", "pretrain", "finetune", "distill", "render",
                                     "tone", "all"))
    t.add_argument("--data", nargs="+", required=True, metavar="PATH",
                   help="FS2K folders (pairs.csv), 'my drawings' folders (photos/ + drawings/), photo folders")
    t.add_argument("--out", required=True, help="run folder: checkpoints, previews, losses")
    t.add_argument("--config", choices=("tiny", "default", "paper"), default="default")
    t.add_argument("--max-steps", type=int, help="steps for each stage (default: the preset's; tone: batches of "
                                                 "pairs to draw, at most all of them, the default)")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    t.add_argument("--init", help="start from this model instead of the previous stage's output")
    t.add_argument("--style", help="style name for a 'my drawings' folder")
    t.add_argument("--clip-weights", help="local CLIP weights (paper preset)")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=4e-4)
    t.add_argument("--keep-weight", type=float, default=1.0,
                   help="finetune: distil the starting model's styles this data does not train "
                        "(0: off, about half the step time when the model has such styles)")
    t.add_argument("--bf16", action="store_true",
                   help="on the CPU too, forward passes in bf16 autocast (faster where the CPU has native "
                        "bf16; weights stay fp32)")
    t.add_argument("--structure", action="store_true",
                   help="pretrain/finetune/distill/render: give a model without one the face-structure path (the "
                        "photo's face lines and person mask into its encoder, or its renderer, starting at zero)")
    t.add_argument("--imagenet-weights", metavar="PTH",
                   help="pretrain/finetune/distill: give a model without them frozen ImageNet features from this "
                        "local torchvision mobilenet_v2-b0353104.pth (tools/build/fetch_imagenet_weights.py "
                        "makes it; starting at zero, then carried inside the model file)")
    t.add_argument("--photo-changes", type=float, metavar="RATE",
                   help="pretrain/finetune/distill: fraction of training photos drawn changed as a user's photos "
                        "are (another background behind the person, a colour cast, greyscale, heavy JPEG, few "
                        "pixels), the drawing kept (default 0: off)")
    t.add_argument("--photo-change-variants", type=int, metavar="N",
                   help="changed copies made of each training photo when the stage starts (default 2)")
    t.add_argument("--render-photo", action=argparse.BooleanOptionalAction,
                   help="render: a stroke renderer that sees the photo's edges (default; a renderer "
                        "without them gets them); --no-render-photo keeps the tokens alone")
    t.add_argument("--render-imagenet", action=argparse.BooleanOptionalAction,
                   help="render: a stroke renderer that also takes the photo's frozen ImageNet maps (a model "
                        "whose encoder has them, v13 on); default off")
    t.add_argument("--render-perceptual", type=float,
                   help="render: weight of a perceptual term in the ImageNet trunk's feature space (default 0: off)")
    t.add_argument("--render-sampled", type=float,
                   help="render: fraction of training crops drawn from tokens the transformer samples (default 0.75)")
    t.add_argument("--render-draws", type=int,
                   help="render: token draws sampled per training photo, one taken at random for each sampled "
                        "crop, so the renderer learns what the transformer draws, not one draw (default 1)")
    t.add_argument("--render-temperature", type=float,
                   help="render/tone: the token sampling temperature of the tokens they sample; give the one "
                        "the model will be recommended (default 1)")
    t.add_argument("--render-style-guidance", type=float,
                   help="render: style guidance of those sampled tokens (default: as the model samples "
                        "by default, 0 for a model that learnt guidance, else 0.75)")
    t.add_argument("--render-tone", type=float,
                   help="render: weight of the tone term, L1 of the mean grey per 8 x 8 block, which keeps a "
                        "style's darkness where strokes are uncertain (default 0: off)")
    t.add_argument("--render-adversarial", type=float,
                   help="render: weight of the adversarial term (a style-aware patch discriminator, hinge loss, "
                        "feature matching) that makes the renderer commit to strokes (default 0: off)")
    t.add_argument("--render-part-weight", type=float,
                   help="render: extra weight of L1 near the face's part lines (jaw, brows, eyes, nose, lips) "
                        "of the face-structure map, for a renderer that takes it (default 0: off)")
    t.add_argument("--render-block-contrast", type=float,
                   help="render: weight of a term matching each 64 px block's contrast in SCOOT's grey levels "
                        "to the drawing's, so strokes step from paper to ink as the artist's do (default 0: off)")
    t.add_argument("--render-lr", type=float,
                   help="render: the renderer's peak learning rate (default 5e-4, for a new renderer; lower "
                        "to refine a trained one)")
    t.add_argument("--distill-guidance", type=float,
                   help="distill: the style guidance whose predictions the transformer learns to make in one "
                        "pass (default 0.75; then sample the result without style guidance)")
    t.add_argument("--device", default="auto", help="auto (a CUDA GPU when PyTorch sees one, else the CPU), cpu, cuda")
    t.add_argument("--devices", type=int, default=1, metavar="N",
                   help="train in N processes (GPUs, or CPU processes sharing the cores) through Lightning "
                        "Fabric, each on its own --batch, gradients averaged: N x the batch a step (default 1)")
    t.add_argument("--checkpoint-every", type=int, default=200)
    t.add_argument("--preview-every", type=int, default=200)
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    k = sub.add_parser("pack", help="pack training data into one small file (a GPU machine's --data)")
    k.add_argument("--data", nargs="+", required=True, metavar="PATH", help="the folders `train --data` takes")
    k.add_argument("--out", required=True, help="the pack to write, e.g. fs2k-train.pack")
    k.add_argument("--config", choices=("tiny", "default", "paper"), default="default",
                   help="the preset whose training image size the pack holds")
    k.add_argument("--style", help="style name for a 'my drawings' folder")
    k.add_argument("--photo-quality", type=webp_quality, help="WebP quality 1-100, or lossless (PNG) (default 70)")
    k.add_argument("--drawing-quality", type=webp_quality, help="WebP quality 1-100, or lossless (PNG) (default 80)")
    k.add_argument("-q", "--quiet", action="store_true")
    k.set_defaults(func=cmd_pack)

    e = sub.add_parser("eval", help="SCOOT and SSIM per style against drawn sketches, with baselines")
    e.add_argument("--data", required=True, help="folder with a pairs.csv like fs2k-train's")
    e.add_argument("--model", help="model .safetensors (default: the shipped model)")
    add_sampler_options(e)
    e.add_argument("--limit", type=int, help="only the first N pairs")
    e.add_argument("--save", help="also write the model's sketches to this folder")
    e.add_argument("--baselines-only", action="store_true", help="score only the baselines (no model)")
    e.add_argument("--no-fsim", action="store_true", help="skip FSIM (the slowest metric)")
    e.add_argument("--robust", action="store_true",
                   help="instead: for each change a user's photo brings (another background, a colour cast, "
                        "greyscale, heavy JPEG, few pixels), SCOOT of the changed photo's sketch against the "
                        "drawing and the paper's grey outside the person (--limit N: N pairs spread over the set)")
    e.add_argument("--seed", type=int, default=0,
                   help="pair n is sampled with seed SEED + n (another SEED: another draw of the same pairs)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)

    from .video import add_parser as add_video_parser

    add_video_parser(sub, add_sampler_options)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", cmd_gui)
    if func is not cmd_gui:  # the window imports torch on a worker, after it shows (app/main.py)
        import torch

        # Denormal floats made some CPU decodes 7x slower (docs/BENCHMARKS.md); they never
        # matter for an 8-bit image, so flush them for the whole process. (The window does it
        # on each thread that computes: app/workers/thread.py.)
        torch.set_flush_denormal(True)
    try:
        return func(args)
    except UserError as exc:
        print(f"sketchstudio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sketchstudio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
