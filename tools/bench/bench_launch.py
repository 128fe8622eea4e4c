"""Launch time (issue 25): launch -> first window paint and launch -> model ready, and the wall
time of `sketchstudio sketch` on one photo, for this checkout and others in the same run (the
old code from a `git worktree`, a standalone folder). A measurement that prints, not a test.

    git worktree add --detach ../old HEAD   # the code to compare with
    nice -n 5 xvfb-run -a .venv/bin/python tools/bench/bench_launch.py --runs 5 --old ../old \\
        [--standalone dist/SketchStudio/SketchStudio] [--photo PHOTO]

Each run launches every checkout twice, in a fresh interpreter with the checkout first on
PYTHONPATH, after one launch of each that is not counted (bytecode and page cache warm).
Times are seconds from the process's start (/proc), as the app measures them. First paint:
`sketchstudio` (the window) under a launcher that puts an event filter on the QApplication
before the app runs and exits at the main window's first paint, the same for every
checkout, so code that cannot say when it painted is measured like code that can. Model
ready: `sketchstudio --quit-when-ready`, its own `ready:` line. A standalone executable
cannot take the launcher: both come from its `--quit-when-ready` lines (`painted:`, `ready:`).
`sketch` runs `--crop face` on one photo (default: the sample face) into a temporary folder;
the sketches of all checkouts are compared pixel for pixel. Also timed (wall, a fresh
interpreter each): `import sketchstudio.cli, sketchstudio.app.main` and `--help`.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = r"""
import os, sys
from pathlib import Path


def since_launch():
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    return float(Path("/proc/uptime").read_text().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK")


from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def painted():  # this paint has reached the screen: say when, and stop at once
    print(f"bench-painted {since_launch():.3f}", flush=True)
    os._exit(0)


class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            QApplication.instance().removeEventFilter(self)
            QTimer.singleShot(0, painted)
        return False


app = QApplication([sys.argv[0]])
hook = FirstPaint()
app.installEventFilter(hook)
from sketchstudio.cli import main
sys.exit(main([]))
"""


def run_for(pattern: str, cmd: list[str], env: dict, cwd: Path) -> float | None:
    """The seconds `pattern` finds in the launch's output; None if it says nothing of the kind."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-2000:]}")
    found = re.search(pattern, proc.stdout, re.M)
    return float(found[1]) if found else None


READY = r"^ready: window shown, a model loaded, (\d+\.\d+) s after launch$"
PAINTED = r"^painted: first window paint (\d+\.\d+) s after launch$"


def launch(target) -> tuple[float | None, float | None]:
    """(first paint, model ready) in seconds after launch."""
    kind, where, env = target[1:]
    if kind == "source":
        painted = run_for(r"^bench-painted (\d+\.\d+)$", [sys.executable, "-c", LAUNCHER], env, where)
        ready = run_for(READY, [sys.executable, "-m", "sketchstudio", "--quit-when-ready"], env, where)
        return painted, ready
    cmd = [str(where), "--quit-when-ready"]
    return run_for(PAINTED, cmd, env, where.parent), run_for(READY, cmd, env, where.parent)


def sketch_wall(checkout: Path, photo: Path, env: dict, out: Path) -> float:
    cmd = [sys.executable, "-m", "sketchstudio", "sketch", str(photo), "--crop", "face", "--out", str(out), "-q"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=checkout, timeout=300)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"sketch in {checkout} failed:\n{proc.stderr[-2000:]}")
    return wall


def wall(cmd: list[str], env: dict, cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t


def summary(xs: list[float | None]) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--old", action="append", default=[], metavar="CHECKOUT",
                   help="another checkout to measure in the same run (repeatable)")
    p.add_argument("--standalone", action="append", default=[], metavar="EXE",
                   help="a standalone build's executable (dist/SketchStudio/SketchStudio; repeatable)")
    p.add_argument("--photo", default=str(ROOT / "resources" / "sample_face.png"))
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "config")}  # the user's settings stay out of it
        base.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
        targets = []  # (label, "source" or "standalone", checkout or executable, env)
        for checkout in [ROOT, *map(Path, args.old)]:
            checkout = checkout.resolve()
            targets.append((f"source {checkout.name}", "source", checkout, {**base, "PYTHONPATH": str(checkout)}))
        for exe in map(Path, args.standalone):
            exe = exe.resolve()
            targets.append((f"standalone {exe.parent.parent.parent.name}", "standalone", exe, base))

        print(f"platform {base['QT_QPA_PLATFORM']}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} launches each", flush=True)
        for target in targets:  # warm-up, not counted
            launch(target)
        results = {label: ([], []) for label, *_ in targets}
        for i in range(args.runs):
            for target in targets:
                label = target[0]
                painted, ready = launch(target)
                results[label][0].append(painted)
                results[label][1].append(ready)
                print(f"  run {i + 1} {label}: first paint {painted if painted is not None else 'n/a'} s, "
                      f"model ready {ready if ready is not None else 'n/a'} s", flush=True)

        walls, imports, helps = {}, {}, {}
        sketches = {}
        photo = Path(args.photo).resolve()
        checkouts = [(label, None, env, where) for label, kind, where, env in targets if kind == "source"]
        entry = [sys.executable, "-c", "import sketchstudio.cli, sketchstudio.app.main"]
        for label, _cmd, env, cwd in checkouts:  # warm-up
            sketch_wall(cwd, photo, env, tmp / "warm")
        for i in range(args.runs):
            for label, _cmd, env, cwd in checkouts:
                out = tmp / f"sketch-{label}-{i}"
                walls.setdefault(label, []).append(sketch_wall(cwd, photo, env, out))
                sketches.setdefault(label, np.asarray(Image.open(out / f"{photo.stem}.png")))
                imports.setdefault(label, []).append(wall(entry, env, cwd))
                helps.setdefault(label, []).append(wall([sys.executable, "-m", "sketchstudio", "--help"], env, cwd))

        print(f"\nmedian (min-max) seconds after launch, {args.runs} launches each, "
              f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'':28} {'first window paint':>18} {'model ready':>18} {'sketch, 1 photo':>18} "
              f"{'import cli+app':>18} {'--help':>18}")
        for label, (painted, ready) in results.items():
            print(f"{label:28} {summary(painted):>18} {summary(ready):>18} {summary(walls.get(label, [])):>18} "
                  f"{summary(imports.get(label, [])):>18} {summary(helps.get(label, [])):>18}")
        first = next(iter(sketches.values()))
        same = all(np.array_equal(first, s) for s in sketches.values())
        print(f"sketches of {photo.name} identical across checkouts: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
