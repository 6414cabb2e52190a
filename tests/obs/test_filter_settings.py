"""Settings repair and the model list, without OBS: the rules the filter applies to stored values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obs_blur.obs.filter_settings import FilterSettings, ModelChoices, read_model_choices, sanitize

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
