"""Renaming and removing a style of a model file, as the studio does it (issue 13). Qt-free.

The edit itself is core's (`core.style_edit`): a new model in which every other style draws
bit for bit as before. Here it becomes a NEW file in the user's models folder, named
"<name> (edited).safetensors" (a number added when that is taken), with its model card
updated: the styles, where each came from, and a line saying what was edited. The file the
model came from is never written, and the shipped model cannot be edited at all.
"""
from __future__ import annotations

import contextlib
import copy
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ...core.styles import StyleError
from ...paths import default_model_path, user_models_dir
from .style_origins import style_origins

if TYPE_CHECKING:
    from ...core.model import SketchModel

SHIPPED_NOTE = "The shipped model stays as it is: train your own style first (Train → New style from my drawings…)."


class EditError(Exception):
    """Why an edit cannot be done, in one line for a message box."""


def is_shipped(path) -> bool:
    """The model that comes with the app (never edited)."""
    if not path:
        return False
    try:
        return Path(path).resolve() == default_model_path().resolve()
    except OSError:
        return False


def editable(path) -> str | None:
    """Why the model at `path` cannot be edited; None when it can."""
    if not path:
        return "This model is not from a file; open a model file to edit its styles."
    if is_shipped(path):
        return SHIPPED_NOTE
    return None


def edited_path(source, folder=None) -> Path:
    """A free "<stem> (edited).safetensors" in the user's models folder."""
    folder = Path(folder) if folder else user_models_dir()
    stem = Path(source).stem
    stem = stem.removesuffix(" (edited)")  # an edited model edited again: no "(edited) (edited)"
    for suffix in ("", *(f" {n}" for n in range(2, 10000))):
        path = folder / f"{stem} (edited{suffix}).safetensors"
        if not path.exists() and not path.with_suffix(".md").exists():
            return path
    raise EditError(f"{folder}: too many edited copies of {stem}")


def edited_card(info: dict, source: Path, styles: tuple[str, ...], origins: dict[str, str], change: str) -> dict:
    """The source's card (a minimal one when it has none) for the edited model."""
    card = copy.deepcopy(info.get("card")) if isinstance(info.get("card"), dict) else {}
    card.setdefault("name", Path(source).stem)
    card["styles"] = list(styles)
    card["style_origins"] = {s: origins[s] for s in styles}
    if card.get("new_style") not in styles:
        card["new_style"] = None  # removed, or renamed (the origin says where it came from)
    when = datetime.now().isoformat(timespec="seconds").replace("T", " ")
    card["edits"] = [*card.get("edits", []), f"{change} ({when}; from {Path(source).name})"]
    return card


def apply_edit(model: SketchModel, source, op: str, style: str, new_name: str | None = None,
               folder=None) -> tuple[Path, str]:
    """Rename (`op` "rename", to `new_name`) or remove (`op` "remove") `style` of `model`, loaded
    from `source`; save the result as a new file. Returns (its path, a one-line summary).
    Raises EditError with a user-facing message."""
    # torch and the training code: imported when a style is edited, not with the window
    from ...core.checkpoint import read_config, save_model
    from ...core.style_edit import check_name, remove_style, rename_style
    from .training_plan import card_markdown

    source = Path(source) if source else None
    why = editable(source)
    if why:
        raise EditError(why)
    try:
        info = read_config(source)[1] if source.exists() else {}
    except (OSError, ValueError):
        info = {}
    origins = style_origins(model.styles, info)
    try:
        if op == "rename":
            new = check_name(new_name or "", model.styles, current=style)
            if new == style:
                raise EditError(f"The style is already called “{style}”.")
            edited = rename_style(model, style, new)
            origins[new] = origins.pop(style)
            change = f"Renamed style “{style}” to “{new}”"
        elif op == "remove":
            edited = remove_style(model, style)
            change = f"Removed style “{style}”"
        else:
            raise ValueError(op)
    except StyleError as exc:
        raise EditError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None
    dest = edited_path(source, folder)
    card = edited_card(info, source, edited.styles, origins, change)
    out_info = {**{k: v for k, v in info.items() if k != "card"}, "card": card}
    written = False
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        save_model(edited, dest, info=out_info)
        written = True
        dest.with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    except OSError as exc:
        if written:  # a model without its card: not kept
            with contextlib.suppress(OSError):
                dest.unlink()
        raise EditError(f"Cannot write {exc.filename or dest}: {exc.strerror or exc}") from None
    return dest, change
