"""The whole pipeline: data cache, then tokenizer -> decoder -> pretrain -> finetune -> render -> tone, as one event stream.

Each stage writes `<stage>.safetensors` (a complete, loadable model) into the
output folder; the next stage starts from it. `resume` continues the stage
whose training state is on disk and skips stages already finished. A stage that trains
styles its starting model lacks (a new "my drawings" style on top of `init`) adds them
first (train/styles.py).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterator

import torch

from ..core.checkpoint import load_model, read_config, remove_stale_temps
from ..core.config import preset
from ..core.model import SketchModel
from ..core.sampler import CancelToken
from ..data.cache import Source, TrainingData, build_training_data
from ..data.datasets import DataReport, write_split
from ..data.pack import is_pack, load_pack
from .runner import RunOptions, TrainEvent, run_stage
from .base import StageBase, StageOptions
from .decoder import DecoderStage
from .distill import DistillStage
from .finetune import FinetuneStage
from .masked import PretrainStage
from .render import RenderStage
from .styles import add_adapters, add_styles, align_styles, stage_styles
from ..core.face_structure import CHANNELS
from ..core.imagenet import RENDERER_CHANNELS
from . import distributed
from .surgery import add_imagenet, add_refiner, add_renderer, add_structure, add_tone, add_upscaler
from .tokenizer import TokenizerStage
from .tone import ToneStage, tone_batches
from .upscale import UpscaleStage

STAGES = ("tokenizer", "decoder", "upscale", "pretrain", "finetune", "distill", "render", "tone")
# The class that trains each stage (train/base.py lists what each does).
STAGE_CLASSES: dict[str, type[StageBase]] = {
    "tokenizer": TokenizerStage, "decoder": DecoderStage, "upscale": UpscaleStage,
    "pretrain": PretrainStage, "finetune": FinetuneStage, "distill": DistillStage, "render": RenderStage, "tone": ToneStage,
}
# What `train all` runs: the texture head (upscale, model v3) is superseded by the renderer;
# guidance distillation (distill) is a later, optional step on a finished model. The tone
# curves are fitted last, to the renderer they describe.
ALL_STAGES = ("tokenizer", "decoder", "pretrain", "finetune", "render", "tone")
DEFAULT_STEPS = {
    "tiny": {"tokenizer": 30, "decoder": 30, "upscale": 30, "pretrain": 30, "finetune": 30, "distill": 30, "render": 30,
             "tone": 30},
    "default": {"tokenizer": 2500, "decoder": 2000, "upscale": 1500, "pretrain": 2500, "finetune": 2500,
                "distill": 1500, "render": 2500, "tone": 10000},
    "paper": {"tokenizer": 20000, "decoder": 20000, "upscale": 10000, "pretrain": 50000, "finetune": 20000,
              "distill": 5000, "render": 10000, "tone": 10000},
}
PREVIOUS = {"decoder": "tokenizer", "upscale": "decoder", "pretrain": "upscale", "finetune": "pretrain",
            "distill": "finetune", "render": "finetune",
            "tone": "render"}
# Where a run lacks a stage's usual predecessor (runs made before that stage existed, or
# pipelines that skip it), the stage starts from the one before.
FALLBACK = {"upscale": "decoder", "decoder": "tokenizer"}


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    stages: tuple[str, ...] = ALL_STAGES
    config: str = "default"
    steps: dict | None = None  # per-stage step counts; None: DEFAULT_STEPS[config]
    resume: bool = False
    init: str | None = None  # start the first stage from this model instead of the previous stage
    clip_weights: str | None = None
    checkpoint_every: int = 200
    preview_every: int = 200
    stage_options: StageOptions = StageOptions()


def prepare_data(sources: list[Source], out: Path, size: int, resume: bool,
                 native: bool = False) -> Iterator[TrainEvent | TrainingData]:
    cache = out / "data.safetensors"
    if resume and cache.exists():
        yield TrainEvent("data", "done", 1, 1, message=f"using cached data {cache}")
        yield TrainingData.load(cache)
        return
    report = DataReport()
    events: list[TrainEvent] = []

    def progress(i, n):
        events.append(TrainEvent("data", "step", i, n))

    packs = [s for s in sources if is_pack(s.path)]
    if packs and len(sources) > 1:
        raise ValueError(f"{packs[0].path}: a training pack is the only --data source of a run")
    if packs:  # data/pack.py: a compact cache made by `sketchstudio pack`
        data, val_pairs, report = load_pack(packs[0].path, size, native=native, progress=progress)
    else:
        data, val_pairs = build_training_data(sources, size, report, progress=progress, native=native)
    yield from events
    (out / "data_report.txt").write_text("".join(f"{line}\n" for line in report.lines()))
    if val_pairs:
        val_dir = out / "val"
        val_dir.mkdir(exist_ok=True)
        write_split(val_pairs, val_dir / "pairs.csv")
    if len(data.real_style) + len(data.synth_style) == 0:
        first = report.lines()[0] if len(report) else "no images found"
        raise ValueError(f"no usable training data in {', '.join(str(s.path) for s in sources)} ({first})")
    data.save(cache)
    msg = (f"{len(data.real_style)} training pairs, {len(data.val_style)} held out, "
           f"{len(data.synth_style)} synthetic sketches; {len(report)} files skipped (see data_report.txt)")
    yield TrainEvent("data", "done", 1, 1, message=msg)
    yield data


def _model_for(stage: str, out: Path, data: TrainingData, opts: PipelineOptions, first: bool) -> SketchModel:
    prev = PREVIOUS.get(stage)
    while prev in FALLBACK and not (out / f"{prev}.safetensors").exists():
        prev = FALLBACK[prev]
    if first and opts.init:
        model, _ = load_model(opts.init, opts.clip_weights)
    elif prev and (out / f"{prev}.safetensors").exists():
        model, _ = load_model(out / f"{prev}.safetensors", opts.clip_weights)
    elif stage != "tokenizer":
        raise FileNotFoundError(f"{out / (prev + '.safetensors')}: run the {prev} stage first (or pass --init MODEL)")
    else:
        return SketchModel(preset(opts.config).with_styles(data.styles), opts.clip_weights)
    return stage_model(stage, model, data, opts.stage_options, opts.clip_weights)


def stage_model(stage: str, model: SketchModel, data: TrainingData, so: StageOptions, clip_weights=None) -> SketchModel:
    """`model` grown for what `stage` trains on `data`: the head the stage adds, the styles it
    lacks, their adapters. Deterministic (mean rows, seeded adapters after torch.manual_seed),
    so a resumed stage rebuilds the shape its state was saved with."""
    if stage == "decoder":
        model = add_refiner(model, so.refine_channels, clip_weights)
    if stage == "upscale":
        model = add_upscaler(model, so.upscale, so.upscale_channels, clip_weights)
    if stage in ("pretrain", "finetune", "distill") and so.structure:
        model = add_structure(model, len(CHANNELS), clip_weights)
    if stage in ("pretrain", "finetune", "distill") and so.imagenet_weights:
        model = add_imagenet(model, so.imagenet_weights, clip_weights)
    if stage == "render":
        model = add_renderer(model, so.upscale, so.renderer_channels, clip_weights, styled=so.render_styled,
                             photo=so.render_photo, structure=len(CHANNELS) if so.structure else 0,
                             imagenet=RENDERER_CHANNELS if so.render_imagenet else 0)
    if stage == "tone":
        model = add_tone(model, clip_weights)
    trained = stage_styles(stage, data)
    new = [s for s in trained if s not in model.styles]
    model = add_styles(model, trained, clip_weights)
    if stage == "finetune" and so.adapter_rank and new:
        model = add_adapters(model, new, so.adapter_rank, clip_weights)
    return model


def build_stage(name: str, model: SketchModel, data: TrainingData, options: StageOptions, total: int) -> StageBase:
    """The Stage object that trains `name` (one of STAGES) for `total` steps."""
    if name not in STAGE_CLASSES:
        raise ValueError(name)
    return STAGE_CLASSES[name](model, data, options, total)


def run_pipeline(sources: list[Source], out_dir, opts: PipelineOptions,
                 cancel: CancelToken | None = None) -> Iterator[TrainEvent]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)  # a run killed mid-checkpoint leaves a temporary file; the folder is this run's
    # Denormal floats in backward passes made CPU steps several times slower (measured).
    torch.set_flush_denormal(True)
    main = distributed.is_main()
    if main:
        (out / "pipeline.json").write_text(json.dumps(
            {"sources": [str(s.path) for s in sources], "options": dataclasses.asdict(opts)}, indent=2, default=str))
    # Data at the size of the model training starts from: init's, else the preset's.
    size = (read_config(opts.init)[0] if opts.init else preset(opts.config)).tokenizer.image_size
    data = None
    # The upscale and render stages learn from the drawings at their own resolution.
    native = bool({"upscale", "render", "tone"} & set(opts.stages))
    if main:
        for item in prepare_data(sources, out, size, opts.resume, native=native):
            if isinstance(item, TrainingData):
                data = item
            else:
                yield item
    distributed.barrier()  # more than one device: the others read the data rank 0 prepared
    if not main:
        data = TrainingData.load(out / "data.safetensors")
    steps = {**DEFAULT_STEPS.get(opts.config, DEFAULT_STEPS["default"]), **(opts.steps or {})}
    for n, stage_name in enumerate(opts.stages):
        final = out / f"{stage_name}.safetensors"
        if opts.resume and final.exists() and not (out / f"{stage_name}.state.safetensors").exists():
            yield TrainEvent(stage_name, "done", steps[stage_name], steps[stage_name], path=str(final),
                             message="already finished")
            continue
        if stage_name in ("upscale", "render", "tone") and len(data.real_native) == 0:
            # Photo-only data (synthetic sketches exist only at the decoder's size), or a cache
            # built without them: the model keeps drawing as before.
            yield TrainEvent(stage_name, "done", 0, 0, message="skipped: no drawings at their own resolution in this data")
            continue
        torch.manual_seed(opts.stage_options.seed)
        model = _model_for(stage_name, out, data, opts, first=(n == 0))
        stage_data = align_styles(data, model.styles)  # style indices into this model's styles
        total = steps[stage_name]
        if stage_name == "tone":  # a step is a batch of pairs: never more steps than the data has batches
            total = min(total, tone_batches(stage_data, opts.stage_options.batch))
        stage = build_stage(stage_name, model, stage_data, opts.stage_options, total)
        run = RunOptions(total, opts.checkpoint_every, opts.preview_every, opts.resume)
        last = None
        for last in run_stage(stage, out, run, cancel):
            yield last
        if last is None or last.kind != "done":
            return  # cancelled: later stages wait for --resume
        if main:
            (out / f"{stage_name}.state.safetensors").unlink(missing_ok=True)
        distributed.barrier()
