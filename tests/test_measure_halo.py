"""The halo figure's CPU part (tools/measure_halo.py): our compositor keeps the person out of the background.

A whole-frame blur smears the person's colours into the background around them; the reference
compositor estimates the background from background pixels only. On a picture with a known plain
background (a hand-made cut-out of a real photo) the difference is measurable in grey levels.
"""

from __future__ import annotations

from typing import Any

import pytest
from obs.script_modules import load_tool

STRENGTH = 50
MAX_OUR_HALO = 1.0  # grey levels; measured 0.14 (grey) and 0.17 (blue) at strength 50
MIN_NAIVE_HALO = 3.0  # measured 6.3 (grey) and 8.6 (blue) at strength 50


measure_halo = load_tool("measure_halo")


@pytest.fixture(scope="module")
def grey_picture() -> Any:
    return measure_halo.build_picture("grey", (128, 128, 128))


def test_picture_is_a_person_on_a_plain_background(grey_picture: Any) -> None:
    alpha = grey_picture.alpha
    person_share = (alpha >= 128).mean()
    assert 0.15 < person_share < 0.5  # a head-and-torso shot, not an empty or full mask
    assert grey_picture.picture[alpha >= 128].std() > 30  # the photo's pixels, not a flat fill
    assert measure_halo.halo_band(alpha).sum() > 10_000
    assert measure_halo.halo(grey_picture.picture, grey_picture) == 0.0  # the unblurred picture: no halo


@pytest.mark.parametrize("mode", ["blur", "lens", "lens-depth"])
def test_reference_compositor_has_no_halo_and_a_plain_blur_has_one(grey_picture: Any, mode: str) -> None:
    ours = measure_halo.halo(measure_halo.reference_composite(grey_picture, STRENGTH, mode), grey_picture)
    naive = measure_halo.halo(measure_halo.naive_composite(grey_picture, STRENGTH), grey_picture)

    assert ours <= MAX_OUR_HALO, ours
    assert naive >= MIN_NAIVE_HALO, naive
    assert naive >= 10 * ours, (naive, ours)


def test_command_prints_the_table_without_obs(capsys: pytest.CaptureFixture[str]) -> None:
    assert measure_halo.main(["--strengths", str(STRENGTH)]) == 0

    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0] == f"| background | method | strength {STRENGTH} | note |"
    assert len(table) == 2 + 2 * len(measure_halo.BACKGROUNDS)  # header, rule, naive and ours per background
    assert not any("OBS" in line for line in table)
