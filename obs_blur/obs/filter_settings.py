"""The filter's settings: choices, defaults, and repair of invalid values. Pure Python, no libobs.

Settings reach the filter from the properties dialog, from obs-websocket clients and from scene
collection files that people edit by hand, so any key may hold a value of the wrong type or out of
range. ``sanitize`` turns whatever is stored into valid settings and says what it had to change, so
the filter can write the repaired values back and the user sees what is actually applied.
Kept free of libobs so that the rules are unit-tested without OBS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

MODE = "mode"
MODEL = "model"
BLUR_STRENGTH = "blur_strength"

# Setting value -> label in the properties dialog, in display order.
MODES: dict[str, str] = {
    "blur": "Blur the background",
    "color": "Replace the background with a colour",
    "image": "Replace the background with a picture",
    "transparent": "Make the background transparent",
    "mask": "Show the person mask (diagnostics)",
}
DEFAULT_MODE = "blur"
BLUR_STRENGTH_MIN = 0
BLUR_STRENGTH_MAX = 100
DEFAULT_BLUR_STRENGTH = 50

# A value as stored in obs_data: string, number, boolean, or None when the user never set it.
StoredValue = Union[str, float, bool, None]


@dataclass(frozen=True)
class ModelChoices:
    """Model names offered in the properties dialog, read from the models manifest.

    ``problem`` says why the list is empty (no manifest yet, unreadable file), for the status line.
    """

    names: tuple[str, ...]
    default: str
    problem: Optional[str] = None


@dataclass(frozen=True)
class FilterSettings:
    """Valid settings, as the filter applies them."""

    mode: str
    model: str
    blur_strength: int


def manifest_path() -> Path:
    """``models/manifest.json`` of this checkout; ``OBS_BLUR_MODELS`` overrides the folder, as in the core."""
    override = os.environ.get("OBS_BLUR_MODELS")
    return (Path(override) if override else REPO_ROOT / "models") / "manifest.json"


def read_model_choices(path: Optional[Path] = None) -> ModelChoices:
    """Model names from the manifest (``{"default": ..., "models": [{"name": ...}, ...]}``).

    A missing or broken manifest gives an empty list rather than an error: the filter must still
    load, pass video through and tell the user what is wrong.
    """
    path = path or manifest_path()
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ModelChoices((), "", f"no model manifest at {path}")
    except (OSError, ValueError) as error:
        return ModelChoices((), "", f"cannot read {path}: {error}")
    entries = manifest.get("models") if isinstance(manifest, dict) else None
    names = tuple(
        entry["name"]
        for entry in entries or ()
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]
    )
    if not names:
        return ModelChoices((), "", f"no models listed in {path}")
    default = manifest.get("default")
    return ModelChoices(names, default if default in names else names[0])


def defaults(models: ModelChoices) -> FilterSettings:
    """What a new filter starts with."""
    return FilterSettings(DEFAULT_MODE, models.default, DEFAULT_BLUR_STRENGTH)


def _sanitize_mode(value: StoredValue) -> str:
    return value if isinstance(value, str) and value in MODES else DEFAULT_MODE


def _sanitize_model(value: StoredValue, models: ModelChoices) -> str:
    if not isinstance(value, str):
        return models.default
    if models.names and value not in models.names:
        return models.default
    return value  # without a manifest any name is kept: it may become valid once models are installed


def _sanitize_blur_strength(value: StoredValue) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # NaN != NaN
        return DEFAULT_BLUR_STRENGTH
    return int(min(max(round(value), BLUR_STRENGTH_MIN), BLUR_STRENGTH_MAX))


def sanitize(stored: Mapping[str, StoredValue], models: ModelChoices) -> tuple[FilterSettings, dict[str, str]]:
    """Valid settings from stored user values, plus ``{key: "old -> new"}`` for each value repaired.

    A key the user never set (None) takes its default and is not reported: only values that were
    explicitly stored and had to change need writing back.
    """
    start = defaults(models)
    mode, model, strength = (stored.get(MODE), stored.get(MODEL), stored.get(BLUR_STRENGTH))
    settings = FilterSettings(
        mode=start.mode if mode is None else _sanitize_mode(mode),
        model=start.model if model is None else _sanitize_model(model, models),
        blur_strength=start.blur_strength if strength is None else _sanitize_blur_strength(strength),
    )
    corrections = {}
    for key, old, new in (
        (MODE, mode, settings.mode),
        (MODEL, model, settings.model),
        (BLUR_STRENGTH, strength, settings.blur_strength),
    ):
        if old is not None and not _unchanged(old, new):
            corrections[key] = f"{old!r} -> {new!r}"
    return settings, corrections


def _unchanged(old: StoredValue, new: object) -> bool:
    """Whether repairing changed nothing; a stored 40.0 for an int setting is unchanged.

    obs_data keeps every number as a double as far as we read it, so int and float compare by value.
    """
    if type(old) is type(new):
        return old == new
    return isinstance(old, float) and isinstance(new, int) and old == new
