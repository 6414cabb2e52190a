"""Settings repair and the model list, without OBS: the rules the filter applies to stored values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obs_blur.obs.filter_settings import FilterSettings, sanitize
from obs_blur.segmentation.manifest import ModelChoices, read_model_choices

MODELS = ModelChoices(("landscape", "general"), "landscape")


def write_manifest(folder: Path, content: object) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return path


def test_unset_values_take_defaults_without_corrections() -> None:
    settings, corrections = sanitize({}, MODELS)
    assert settings == FilterSettings("blur", "landscape", 50)
    assert corrections == {}


def test_valid_values_are_kept() -> None:
    stored = {"mode": "image", "model": "general", "blur_strength": 100.0}
    settings, corrections = sanitize(stored, MODELS)
    assert settings == FilterSettings("image", "general", 100)
    assert corrections == {}


@pytest.mark.parametrize(
    ("key", "stored", "repaired"),
    [
        ("mode", "sepia", "blur"),
        ("mode", 3.0, "blur"),
        ("model", "missing", "landscape"),
        ("model", True, "landscape"),
        ("blur_strength", 101.0, 100),
        ("blur_strength", -0.4, 0),
        ("blur_strength", 12.7, 13),
        ("blur_strength", float("nan"), 50),
        ("blur_strength", "7", 50),
        ("blur_strength", True, 50),
    ],
)
def test_invalid_values_are_repaired_and_reported(key: str, stored: object, repaired: object) -> None:
    settings, corrections = sanitize({key: stored}, MODELS)
    assert getattr(settings, key) == repaired
    assert list(corrections) == [key]


def test_without_a_manifest_any_model_name_is_kept() -> None:
    settings, corrections = sanitize({"model": "future-model"}, ModelChoices((), "", "no manifest"))
    assert settings.model == "future-model"
    assert corrections == {}


def test_manifest_names_and_default(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, {"default": "b", "models": [{"name": "a"}, {"name": "b"}, {"file": "x"}]})
    assert read_model_choices(path) == ModelChoices(("a", "b"), "b")


def test_manifest_with_unknown_default_uses_the_first_model(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, {"default": "zzz", "models": [{"name": "a"}]})
    assert read_model_choices(path).default == "a"


@pytest.mark.parametrize("content", [None, "{not json", {"models": "nope"}, {"models": []}, [1, 2]])
def test_broken_or_missing_manifest_gives_an_empty_list_and_a_reason(tmp_path: Path, content: object) -> None:
    path = tmp_path / "manifest.json" if content is None else write_manifest(tmp_path, content)
    choices = read_model_choices(path)
    assert choices.names == ()
    assert choices.problem and str(path) in choices.problem


def test_repository_manifest_is_readable() -> None:
    """The shipped manifest (the core engineer's) lists the models the dialog offers."""
    choices = read_model_choices()
    assert choices.names, choices.problem
    assert choices.default in choices.names


def test_new_settings_defaults() -> None:
    settings, corrections = sanitize({}, MODELS)
    assert (settings.bg_color, settings.bg_image, settings.edge_softness) == (0xFF40B100, "", 35)
    assert (settings.smoothing, settings.align_video, settings.device) == (80, False, "auto")
    assert settings.color_rgb == (0.0, 177 / 255, 64 / 255)  # OBS's 0xAABBGGRR: the CLI's green
    assert corrections == {}


def test_slider_defaults_are_the_cores() -> None:
    """filter_settings keeps literals (it must load without numpy); they must stay the core's defaults."""
    from obs_blur.obs.filter_settings import DEFAULT_EDGE_SOFTNESS, DEFAULT_SMOOTHING
    from obs_blur.pipeline import DEFAULT_SMOOTHING as PIPELINE_SMOOTHING
    from obs_blur.refine import DEFAULT_REFINE

    assert round(DEFAULT_REFINE.softness * 100) == DEFAULT_EDGE_SOFTNESS
    assert round(PIPELINE_SMOOTHING * 100) == DEFAULT_SMOOTHING


@pytest.mark.parametrize(
    ("key", "stored", "repaired"),
    [
        ("bg_color", -1.0, 0xFF40B100),
        ("bg_color", float(1 << 33), 0xFF40B100),
        ("bg_color", "green", 0xFF40B100),
        ("bg_image", 3.0, ""),
        ("edge_softness", 140.0, 100),
        ("smoothing", -5.0, 0),
        ("smoothing", "lots", 80),
        ("align_video", 1.0, False),
        ("device", "tpu", "auto"),
    ],
)
def test_new_settings_are_repaired(key: str, stored: object, repaired: object) -> None:
    settings, corrections = sanitize({key: stored}, MODELS)
    assert getattr(settings, key) == repaired
    assert list(corrections) == [key]


def test_new_settings_valid_values_are_kept() -> None:
    stored = {
        "bg_color": float(0xFF0000FF),
        "bg_image": "/pictures/beach.jpg",
        "edge_softness": 10.0,
        "smoothing": 0.0,
        "align_video": True,
        "device": "cpu",
    }
    settings, corrections = sanitize(stored, MODELS)
    assert (settings.bg_color, settings.bg_image, settings.edge_softness) == (0xFF0000FF, "/pictures/beach.jpg", 10)
    assert (settings.smoothing, settings.align_video, settings.device) == (0, True, "cpu")
    assert settings.color_rgb == (1.0, 0.0, 0.0)
    assert corrections == {}
