"""A training job from the wizard as data: what to train, on what, for how long; its run folder.

Qt-free. Each run lives in its own folder under the user data folder with a `wizard.json`
(the plan, its status and the training time so far), so an unfinished run is found again
and resumed after the app was closed. `publish` turns a finished run into a model file in
the user's models folder with a model card beside it.
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ... import __version__
from ...core.checkpoint import CheckpointError, atomic_write, load_model, read_config, save_model
from ...data.cache import Source, TrainingData
from ...data.synthetic import SYNTHETIC_STYLES
from ...paths import user_data_dir, user_models_dir
from ...train.pipeline import PipelineOptions
from ...train.base import StageOptions
from .style_origins import drawings_origin, style_origins

JOBS = ("new_style", "pretrain", "full")
JOB_STAGES = {"new_style": ("finetune",), "pretrain": ("pretrain",), "full": ("pretrain", "finetune")}
JOB_LABELS = {"new_style": "new style", "pretrain": "pre-training", "full": "both stages"}
STAGE_TITLES = {"pretrain": "pre-training on synthetic sketches", "finetune": "fine-tuning on your drawings",
                "render": "teaching the renderer your strokes"}
# A new style owns low-rank adapters of this rank (and its own renderer column): only they
# train, so the styles the model had draw exactly as before (issue 13, docs/BENCHMARKS.md).
ADAPTER_RANK = 16


def job_stages(job: str, base_model: str | None) -> tuple[str, ...]:
    """The stages a job runs. A new style on a model with a stroke renderer also teaches the
    renderer its strokes (a `render` stage after fine-tuning)."""
    stages = JOB_STAGES[job]
    if job == "new_style" and base_model:
        try:
            if read_config(base_model)[0].tokenizer.renderer_channels:
                stages = stages + ("render",)
        except (CheckpointError, OSError, ValueError):
            pass  # an unreadable base model fails later, with the pipeline's own message
    return stages
PRESETS = ("quick", "standard", "thorough")
# Steps per stage. Fine-tuning starts from a trained model, so a few hundred steps already move
# it; `thorough` is still well under the 2,500 of a from-scratch stage (train/pipeline.py).
PRESET_STEPS = {"quick": 150, "standard": 500, "thorough": 1500}
RECORD = "wizard.json"
MAX_NAME = 40


def runs_dir() -> Path:
    return user_data_dir() / "training"


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return s[:MAX_NAME] or "model"


def name_problem(name: str, job: str, taken_styles=()) -> str | None:
    """Why `name` cannot name the new style (or model); None when it can."""
    name = name.strip()
    if not name:
        return "Enter a name."
    if len(name) > MAX_NAME:
        return f"Use at most {MAX_NAME} characters."
    if job == "pretrain":
        return None  # a model name: any text, the file name is made safe by `slug`
    if any(c in name for c in ",=\n"):
        return "Commas and '=' are not allowed: style mixes are written like contour=0.5,pencil=0.5."
    taken = {s.lower() for s in (*taken_styles, *SYNTHETIC_STYLES)}
    if name.lower() in taken:
        return f"The model already has a style called {name!r}: choose another name."
    return None


@dataclass(frozen=True)
class TrainingPlan:
    job: str  # one of JOBS
    name: str  # the new style's name (new_style, full) or the new model's (pretrain)
    base_model: str  # the model training starts from
    pairs: str | None = None  # a folder holding photos/ and drawings/ (new_style, full)
    photos: str | None = None  # photo folder: pretrain's data, full's optional extra photos
    preset: str = "standard"
    steps: int = PRESET_STEPS["standard"]  # per stage
    batch: int = 8

    @property
    def stages(self) -> tuple[str, ...]:
        return job_stages(self.job, self.base_model)

    @property
    def total_steps(self) -> int:
        return self.steps * len(self.stages)

    @property
    def new_style(self) -> str | None:
        return None if self.job == "pretrain" else self.name.strip()

    def sources(self) -> list[Source]:
        out = []
        if self.pairs and self.job != "pretrain":
            out.append(Source(Path(self.pairs), self.name.strip()))
        if self.photos:
            out.append(Source(Path(self.photos)))
        return out

    def stage_options(self) -> StageOptions:
        return StageOptions(batch=self.batch, warmup=max(1, min(100, self.steps // 10)),
                            adapter_rank=ADAPTER_RANK if self.job == "new_style" else 0)

    def pipeline_options(self, resume: bool) -> PipelineOptions:
        # A preview about every 5% and a checkpoint every 10% (and always on cancel).
        return PipelineOptions(
            stages=self.stages, steps={s: self.steps for s in self.stages}, resume=resume, init=self.base_model,
            checkpoint_every=max(1, self.steps // 10), preview_every=max(1, self.steps // 20),
            stage_options=self.stage_options(),
        )


@dataclass
class RunRecord:
    """A run folder and its wizard.json."""

    folder: Path
    plan: TrainingPlan
    status: str = "new"  # new, running, cancelled, failed, finished
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    elapsed_s: float = 0.0  # training time over every session of this run
    message: str = ""
    model: str | None = None  # the published model, once finished

    @classmethod
    def create(cls, plan: TrainingPlan, root: Path | None = None) -> "RunRecord":
        root = Path(root) if root else runs_dir()
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(plan.name)}"
        folder, n = root / base, 1
        while folder.exists():
            n += 1
            folder = root / f"{base}-{n}"
        folder.mkdir(parents=True)
        rec = cls(folder, plan)
        rec.save()
        return rec

    @classmethod
    def load(cls, folder) -> "RunRecord":
        folder = Path(folder)
        d = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        plan = TrainingPlan(**d.pop("plan"))
        return cls(folder, plan, **{k: v for k, v in d.items() if k in {"status", "created", "elapsed_s",
                                                                           "message", "model"}})

    def save(self) -> None:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("folder", "plan")}
        d["plan"] = dataclasses.asdict(self.plan)
        text = json.dumps(d, indent=1)
        atomic_write(self.folder / RECORD, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    @property
    def unfinished(self) -> bool:
        return self.status != "finished"

    def describe(self) -> str:
        p = self.plan
        return f"{p.name} ({JOB_LABELS[p.job]}, {p.preset}, started {self.created.replace('T', ' ')[:16]}; {self.status})"


def unfinished_runs(root: Path | None = None) -> list[RunRecord]:
    """Runs the wizard can resume, newest first; unreadable records are skipped."""
    root = Path(root) if root else runs_dir()
    found = []
    for rec_file in sorted(root.glob(f"*/{RECORD}"), reverse=True):
        try:
            rec = RunRecord.load(rec_file.parent)
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if rec.unfinished:
            found.append(rec)
    return found


def _unique(folder: Path, stem: str, suffix: str) -> Path:
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def model_card(rec: RunRecord, styles: tuple[str, ...], final_losses: dict, base_info: dict | None = None) -> dict:
    """The card of a finished run; `base_info` (the base model's info) gives the origins of the
    styles it already had."""
    p, folder = rec.plan, rec.folder
    origins = style_origins(styles, base_info)
    if p.new_style in origins and p.pairs:
        origins[p.new_style] = drawings_origin(p.pairs)
    data = TrainingData.load(folder / "data.safetensors")
    report = folder / "data_report.txt"
    skipped = len(report.read_text().splitlines()) if report.exists() else 0
    return {
        "name": p.name.strip(), "new_style": p.new_style, "job": p.job, "styles": list(styles),
        "style_origins": origins, "base_model": p.base_model, "preset": p.preset, "steps": {s: p.steps for s in p.stages},
        "batch": p.batch,
        "data": {"pairs": p.pairs, "photos": p.photos, "training_pairs": len(data.real_style),
                 "held_out_pairs": len(data.val_style), "synthetic_sketches": len(data.synth_style),
                 "files_skipped": skipped},
        "training_time_s": round(rec.elapsed_s, 1), "date": datetime.now().isoformat(timespec="seconds"),
        "final_losses": {k: round(v, 4) for k, v in final_losses.items()},
        "sketchstudio": __version__,
    }


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def card_markdown(card: dict) -> str:
    """The card as NAME.md. A card the studio wrote for an edited model without a training
    record (no `job`) has only its name, styles and edits."""
    lines = [f"# {card['name']}", ""]
    if "job" in card:
        d = card["data"]
        lines += [
            f"Trained with SketchStudio {card['sketchstudio']} on {card['date'].replace('T', ' ')}.", "",
            f"- Job: {JOB_LABELS.get(card['job'], card['job'])} ({card['preset']}); steps: "
            + ", ".join(f"{s} {n}" for s, n in card["steps"].items()) + f"; batch {card['batch']}",
            f"- New style: {card['new_style']}" if card["new_style"] else "- No new style (pre-training)",
            f"- Styles: {', '.join(card['styles'])}",
            f"- Started from: {card['base_model']}",
            f"- Data: {d['training_pairs']} training pairs, {d['held_out_pairs']} held out, "
            f"{d['synthetic_sketches']} synthetic sketches, {d['files_skipped']} files skipped",
            f"- Folders: {', '.join(x for x in (d['pairs'], d['photos']) if x)}",
            f"- Training time: {duration(card['training_time_s'])}",
            f"- Final losses: {', '.join(f'{k} {v}' for k, v in card['final_losses'].items()) or 'n/a'}",
        ]
    else:
        lines.append(f"- Styles: {', '.join(card['styles'])}")
    origins = style_origins(card["styles"], {"card": card})
    lines += ["", "## Styles", ""] + [f"- {s}: {origins[s]}" for s in card["styles"]]
    if card.get("edits"):
        lines += ["", "## Edits", ""] + [f"- {e}" for e in card["edits"]]
    return "\n".join(lines) + "\n"


def publish(rec: RunRecord, final_losses: dict | None = None, models_dir: Path | None = None) -> tuple[Path, dict]:
    """Save the run's last stage as NAME.safetensors (card in its metadata) + NAME.md beside it."""
    final = rec.folder / f"{rec.plan.stages[-1]}.safetensors"
    model, _ = load_model(final)
    base_info: dict = {}
    if rec.plan.base_model:
        try:
            base_info = read_config(rec.plan.base_model)[1]
        except (CheckpointError, OSError):
            pass
    card = model_card(rec, model.styles, final_losses or {}, base_info)
    dest = _unique(Path(models_dir) if models_dir else user_models_dir(), slug(rec.plan.name), ".safetensors")
    info = {"stage": rec.plan.stages[-1], "card": card}
    if isinstance(base_info.get("sampler"), dict):  # the sampler settings its card recommends still apply
        info["sampler"] = base_info["sampler"]
    save_model(model, dest, info=info)
    dest.with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    rec.status, rec.model, rec.message = "finished", str(dest), ""
    rec.save()
    # The run's copies (data cache, stage models) are large and now redundant; losses,
    # previews, the data report and wizard.json stay as the run's record.
    for f in rec.folder.glob("*.safetensors"):
        f.unlink(missing_ok=True)
    return dest, card
