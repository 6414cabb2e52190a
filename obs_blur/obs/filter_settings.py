"""The filter's settings: choices, defaults, and repair of invalid values. Pure Python, no libobs.

Settings reach the filter from the properties dialog, from obs-websocket clients and from scene
collection files that people edit by hand, so any key may hold a value of the wrong type or out of
range. ``sanitize`` turns whatever is stored into valid settings and says what it had to change, so
the filter can write the repaired values back and the user sees what is actually applied.
Kept free of libobs, so that the rules are unit-tested without OBS, and of numpy and OpenCV (as are
the modes and the manifest reader it uses), so that the filter loads without them and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

from obs_blur.modes import DEFAULT_MODE, MODE_NAMES, MODES, Setting, mode_named
from obs_blur.segmentation.manifest import ModelChoices

MODE = "mode"
MODEL = "model"
BLUR_STRENGTH = "blur_strength"
BG_COLOR = "bg_color"
BG_IMAGE = "bg_image"
LENS_DEPTH = "lens_depth"
EDGE_SOFTNESS = "edge_softness"
SMOOTHING = "smoothing"
ALIGN_VIDEO = "align_video"
DEVICE = "device"

BLUR_STRENGTH_MIN = 0
BLUR_STRENGTH_MAX = 100
DEFAULT_BLUR_STRENGTH = 50
# Sliders in percent, like blur strength; the worker takes 0..1.
PERCENT_MIN = 0
PERCENT_MAX = 100
#: RefineSettings.softness (0.35) in percent; kept as a literal so this module needs neither numpy nor OpenCV
#: (the filter must load and explain itself when the dependencies are missing). A unit test keeps them equal.
DEFAULT_EDGE_SOFTNESS = 35
#: The pipeline's DEFAULT_SMOOTHING (0.8) in percent, for the same reason.
DEFAULT_SMOOTHING = 80
#: OBS stores colours as 0xAABBGGRR; this is R 0, G 177, B 64, the CLI's default green.
DEFAULT_BG_COLOR = 0xFF40B100
COLOR_MAX = 0xFFFFFFFF
# Where inference runs: value -> label. The worker understands more (tensorrt, cuda, ...); the dialog
# offers the three choices a user can reason about.
DEVICES: dict[str, str] = {
    "auto": "Automatic (GPU if available)",
    "gpu": "GPU",
    "cpu": "CPU",
}
DEFAULT_DEVICE = "auto"

# A value as stored in obs_data: string, number, boolean, or None when the user never set it.
StoredValue = Union[str, float, bool, None]


@dataclass(frozen=True)
class FilterSettings:
    """Valid settings, as the filter applies them."""

    mode: str
    model: str
    blur_strength: int
    bg_color: int = DEFAULT_BG_COLOR
    bg_image: str = ""
    lens_depth: bool = False
    edge_softness: int = DEFAULT_EDGE_SOFTNESS
    smoothing: int = DEFAULT_SMOOTHING
    align_video: bool = False
    device: str = DEFAULT_DEVICE

    @property
    def color_rgb(self) -> tuple[float, float, float]:
        """``bg_color`` as straight R, G, B in 0..1 (OBS stores 0xAABBGGRR)."""
        return tuple(((self.bg_color >> shift) & 0xFF) / 255.0 for shift in (0, 8, 16))  # type: ignore[return-value]


def defaults(models: ModelChoices) -> FilterSettings:
    """What a new filter starts with."""
    return FilterSettings(DEFAULT_MODE, models.default, DEFAULT_BLUR_STRENGTH)


def _sanitize_mode(value: StoredValue) -> str:
    return value if isinstance(value, str) and value in MODE_NAMES else DEFAULT_MODE


def _sanitize_model(value: StoredValue, models: ModelChoices) -> str:
    if not isinstance(value, str):
        return models.default
    if models.names and value not in models.names:
        return models.default
    return value  # without a manifest any name is kept: it may become valid once models are installed


def _is_number(value: StoredValue) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == value  # NaN != NaN


def _sanitize_blur_strength(value: StoredValue) -> int:
    return _sanitize_percent(value, DEFAULT_BLUR_STRENGTH)


def _sanitize_percent(value: StoredValue, default: int) -> int:
    if not _is_number(value):
        return default
    return int(min(max(round(value), PERCENT_MIN), PERCENT_MAX))  # type: ignore[arg-type]


def _sanitize_color(value: StoredValue) -> int:
    if not _is_number(value) or not 0 <= value <= COLOR_MAX:  # type: ignore[operator]
        return DEFAULT_BG_COLOR
    return int(value)  # type: ignore[arg-type]


def _sanitize_path(value: StoredValue) -> str:
    return value if isinstance(value, str) else ""


def _sanitize_bool(value: StoredValue) -> bool:
    return value if isinstance(value, bool) else False


def _sanitize_device(value: StoredValue) -> str:
    return value if isinstance(value, str) and value in DEVICES else DEFAULT_DEVICE


#: Keys read from obs_data, in the order the dialog shows them.
SETTING_KEYS = (
    MODE, MODEL, BLUR_STRENGTH, LENS_DEPTH, BG_COLOR, BG_IMAGE, EDGE_SOFTNESS, SMOOTHING, ALIGN_VIDEO, DEVICE
)

#: The key of each setting that only some modes draw with (``modes.Setting``); the others apply to all.
MODE_SETTING_KEYS: dict[Setting, str] = {
    Setting.BLUR_STRENGTH: BLUR_STRENGTH,
    Setting.COLOUR: BG_COLOR,
    Setting.PICTURE: BG_IMAGE,
    Setting.LENS_DEPTH: LENS_DEPTH,
}


def mode_choices() -> list[tuple[str, str]]:
    """(value, label) of each mode, in the order the dialog lists them."""
    return [(mode.name, mode.label) for mode in MODES]


def mode_settings_shown(stored_mode: StoredValue) -> dict[str, bool]:
    """``{setting key: shown}`` for each mode-specific setting, for the dialog while ``stored_mode`` is chosen.

    A mode the filter does not know is shown as the mode it applies instead (the default), so the
    dialog never offers settings that have no effect.
    """
    applies = mode_named(_sanitize_mode(stored_mode)).settings
    return {key: setting in applies for setting, key in MODE_SETTING_KEYS.items()}


def sanitize(stored: Mapping[str, StoredValue], models: ModelChoices) -> tuple[FilterSettings, dict[str, str]]:
    """Valid settings from stored user values, plus ``{key: "old -> new"}`` for each value repaired.

    A key the user never set (None) takes its default and is not reported: only values that were
    explicitly stored and had to change need writing back.
    """
    start = defaults(models)
    repairs = {
        MODE: _sanitize_mode,
        MODEL: lambda value: _sanitize_model(value, models),
        BLUR_STRENGTH: _sanitize_blur_strength,
        BG_COLOR: _sanitize_color,
        BG_IMAGE: _sanitize_path,
        LENS_DEPTH: _sanitize_bool,
        EDGE_SOFTNESS: lambda value: _sanitize_percent(value, DEFAULT_EDGE_SOFTNESS),
        SMOOTHING: lambda value: _sanitize_percent(value, DEFAULT_SMOOTHING),
        ALIGN_VIDEO: _sanitize_bool,
        DEVICE: _sanitize_device,
    }
    values = {}
    corrections = {}
    for key, repair in repairs.items():
        old = stored.get(key)
        values[key] = getattr(start, key) if old is None else repair(old)
        if old is not None and not _unchanged(old, values[key]):
            corrections[key] = f"{old!r} -> {values[key]!r}"
    return FilterSettings(**values), corrections


def _unchanged(old: StoredValue, new: object) -> bool:
    """Whether repairing changed nothing; a stored 40.0 for an int setting is unchanged.

    obs_data keeps every number as a double as far as we read it, so int and float compare by value.
    """
    if type(old) is type(new):
        return old == new
    return isinstance(old, float) and isinstance(new, int) and old == new
