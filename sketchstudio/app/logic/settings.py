"""The studio's settings and recent files: one JSON file in the user's config folder; Qt-free.

A missing or damaged file gives the defaults (the studio must always start); writes are atomic.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from ...core.files import atomic_write
from ...paths import user_config_dir

MAX_RECENT = 10


def default_settings_path() -> Path:
    return user_config_dir() / "settings.json"


@dataclass
class AppSettings:
    recent_files: list[str] = field(default_factory=list)
    recent_models: list[str] = field(default_factory=list)
    last_model: str | None = None
    last_dir: str | None = None
    sampler: dict = field(default_factory=dict)  # steps, temperature, guidance, seed, seed_locked
    style: dict = field(default_factory=dict)  # style name -> weight
    overlay: str = "tokens"
    mirror: bool = True
    drafts: bool = False  # webcam: a moving face's sketches drawn as quick drafts, in full once still
    camera: str | None = None  # device description
    geometry: str | None = None  # QMainWindow.saveGeometry(), hex
    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> "AppSettings":
        path = Path(path) if path else default_settings_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        s = cls(path=path)
        for f in dataclasses.fields(cls):
            if f.name == "path" or f.name not in data:
                continue
            value, default = data[f.name], getattr(s, f.name)
            if default is None or isinstance(value, type(default)):  # ignore values of the wrong type
                setattr(s, f.name, value)
        s.recent_files = [p for p in s.recent_files if isinstance(p, str)][:MAX_RECENT]
        s.recent_models = [p for p in s.recent_models if isinstance(p, str)][:MAX_RECENT]
        return s

    def save(self) -> None:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "path"}
        text = json.dumps(data, indent=1, sort_keys=True)
        atomic_write(self.path or default_settings_path(), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def add_recent(self, path, models: bool = False) -> None:
        items = self.recent_models if models else self.recent_files
        p = str(Path(path).resolve())
        if p in items:
            items.remove(p)
        items.insert(0, p)
        del items[MAX_RECENT:]
