"""The mode and model-family registries: every entry has what each part of the filter looks up.

A mode needs its composite techniques in the effect, a CPU composite and a dialog key for each of its
settings; a family needs a GPU downsample technique in the effect; every family the manifest names
must be registered.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from obs_blur.compositor import CompositeSettings, composite
from obs_blur.modes import DEFAULT_MODE, MODE_NAMES, MODES, Mode, Setting
from obs_blur.obs.filter_settings import MODE_SETTING_KEYS, mode_choices
from obs_blur.segmentation.capture import CAPTURE, capture_geometry
from obs_blur.segmentation.families import FAMILIES, family_of
from obs_blur.segmentation.manifest import load_manifest

EFFECT = Path(__file__).resolve().parent.parent / "obs_blur" / "effects" / "background_blur.effect"


def effect_techniques() -> set[str]:
    return set(re.findall(r"^technique\s+(\w+)", EFFECT.read_text(encoding="utf-8"), re.MULTILINE))


def test_mode_names_are_unique_and_the_default_is_one_of_them() -> None:
    assert len(set(MODE_NAMES)) == len(MODES)
    assert DEFAULT_MODE in MODE_NAMES
    assert [value for value, _ in mode_choices()] == list(MODE_NAMES)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name)
def test_each_mode_is_drawn_by_a_technique_and_its_linear_twin(mode: Mode) -> None:
    techniques = effect_techniques()
    assert mode.technique in techniques
    assert mode.technique + "Linear" in techniques


def test_each_mode_setting_has_a_key_in_the_filter_settings() -> None:
    assert set(MODE_SETTING_KEYS) == set(Setting)


@pytest.mark.parametrize("name", MODE_NAMES)
def test_the_cpu_compositor_draws_each_mode(name: str) -> None:
    frame = np.full((8, 8, 3), 200, np.uint8)
    alpha = np.zeros((8, 8), np.uint8)
    picture = np.zeros((4, 4, 3), np.uint8)
    out = composite(frame, alpha, CompositeSettings(mode=name, image=picture))
    assert out.shape[:2] == (8, 8)


def test_every_family_in_the_manifest_is_registered() -> None:
    for spec in load_manifest().models:
        assert family_of(spec) is FAMILIES[spec.family]
        assert capture_geometry(spec) is CAPTURE[spec.family]


def test_the_families_and_their_capture_geometry_agree() -> None:
    assert set(CAPTURE) == set(FAMILIES)
    for name, family in FAMILIES.items():
        assert family.gpu_downsample is CAPTURE[name].downsample


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_downsamples_with_a_technique_of_the_effect(family: str) -> None:
    assert FAMILIES[family].gpu_downsample.value in effect_techniques()
