"""Screenshots of the training wizard for docs/screenshots/wizard-*.png.

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 .venv/bin/python tools/figures/wizard_screenshots.py [--fs2k ../shared/data/fs2k-train]

Everything happens in a temporary folder (the user data folders point there too): a `tiny`
base model is first trained briefly on FS2K's contour and pencil pairs, then the wizard adds
a style from 24 of FS2K's hatched drawings (plus a stray photo, a stray drawing and a broken
file, so the check page has something to list). Tiny means 32 px sketches: the previews
are small and rough; the shots are about the wizard's layout.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import pump  # noqa: E402  (same folder)


def fs2k_rows(fs2k: Path) -> list[dict]:
    with open(fs2k / "pairs.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["photo"].startswith("photos/photo1/")]


def make_base(fs2k: Path, work: Path) -> Path:
    from sketchstudio.data.cache import Source
    from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
    from sketchstudio.train.base import StageOptions

    rows = [r for r in fs2k_rows(fs2k) if r["style"] == "0"][:80]
    base = work / "base-data"
    base.mkdir()
    with open(base / "pairs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["photo", "sketch", "style"])
        w.writerows([[fs2k / r["photo"], fs2k / r["sketch"], r["style"]] for r in rows])
    opts = PipelineOptions(config="tiny", steps={"tokenizer": 400, "pretrain": 300, "finetune": 300},
                           checkpoint_every=10000, preview_every=10000, stage_options=StageOptions(batch=8))
    for ev in run_pipeline([Source(base)], work / "base-run", opts):
        if ev.kind == "done":
            print(f"base model: {ev.stage} done", flush=True)
    model = work / "studio-base.safetensors"
    (work / "base-run" / "finetune.safetensors").rename(model)
    return model


def make_pairs(fs2k: Path, work: Path) -> Path:
    rows = [r for r in fs2k_rows(fs2k) if r["style"] == "1"]
    root = work / "ink-hatch"
    (root / "photos").mkdir(parents=True)
    (root / "drawings").mkdir()
    for r in rows[:24]:
        stem = Path(r["photo"]).stem.replace("image", "face")
        (root / "photos" / f"{stem}.jpg").symlink_to(fs2k / r["photo"])
        (root / "drawings" / f"{stem}.jpg").symlink_to(fs2k / r["sketch"])
    (root / "photos" / "holiday.jpg").symlink_to(fs2k / rows[30]["photo"])
    (root / "drawings" / "scan-0042.jpg").symlink_to(fs2k / rows[31]["sketch"])
    (root / "photos" / "broken.jpg").write_text("not a picture")
    return root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fs2k", default=str(ROOT.parent / "shared" / "data" / "fs2k-train"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out, fs2k = Path(args.out), Path(args.fs2k)
    work = Path(tempfile.mkdtemp(prefix="wizard-shots-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # the user's own folders stay untouched
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")

    from PySide6.QtWidgets import QApplication

    from sketchstudio.app.studio.main_window import MainWindow
    from sketchstudio.app.logic.settings import AppSettings
    from sketchstudio.app.wizard.pages import CHOOSE, NAME, RUN
    from sketchstudio.paths import resources_dir

    base = make_base(fs2k, work)
    pairs = make_pairs(fs2k, work)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(AppSettings(path=work / "settings.json"), find_cameras=False)
    win.interactive = win.persist = False
    win.resize(1240, 760)
    win.show()
    win.start(str(base))
    win.open_path(resources_dir() / "sample_face.png")
    steps = {"quick": 60, "standard": 160, "thorough": 480}
    wiz = win.open_training_wizard(preset_steps=steps, batch=8)
    pump(0.8)

    def shot(name: str, widget=None) -> None:
        pump(0.4)
        path = out / f"wizard-{name}.png"
        (widget or wiz).grab().save(str(path))
        print(f"wrote {path}", flush=True)

    wiz.page(CHOOSE).radios["new_style"].setChecked(True)
    shot("choose-job")
    wiz.next()
    wiz.currentPage().pairs.edit.setText(str(pairs))
    pump(0.3)
    shot("folders")
    wiz.next()
    shot("check")
    wiz.next()
    page = wiz.page(NAME)
    pump(120, lambda: page.probe is not None)
    shot("name")
    wiz.next()
    run = wiz.page(RUN)
    pump(300, lambda: run.bar.maximum() > 0 and run.bar.value() >= 100 and run.preview.pixmap() is not None
         and not run.preview.pixmap().isNull())
    shot("running")
    pump(300, lambda: run.result is not None)
    wiz.next()
    shot("finished")
    pump(60, lambda: not win.studio.busy)
    shot("studio-after", win)
    wiz.accept()
    pump(0.5)

    # A run stopped part-way, and the next wizard offering to resume it.
    wiz = win.open_training_wizard(preset_steps=steps, batch=8)
    wiz.next()
    wiz.currentPage().pairs.edit.setText(str(pairs))
    wiz.next()
    wiz.next()
    wiz.page(NAME).name.setText("ink-hatch-2")
    wiz.page(NAME).radios["quick"].setChecked(True)
    wiz.next()
    run = wiz.page(RUN)
    pump(300, lambda: run.bar.maximum() > 0 and run.bar.value() >= 25)
    run.stop.click()
    pump(60, lambda: not wiz.training_running())
    shot("stopped")
    wiz.reject()
    pump(0.5)
    wiz = win.open_training_wizard(preset_steps=steps, batch=8)
    shot("resume")
    wiz.reject()
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
