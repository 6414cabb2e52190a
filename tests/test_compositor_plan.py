"""The blur's work size and sigma: the one plan the CPU reference and the shader both follow."""

from __future__ import annotations

import pytest

from obs_blur.blur_plan import blur_sigma, blur_work_plan


@pytest.mark.parametrize(
    ("size", "strength", "work", "sigma"),
    [
        ((1280, 720), 0, (320, 180), 0.0),  # the reference's 1/4 size
        ((1280, 720), 30, (320, 180), 7.56 / 4),
        ((1280, 720), 100, (127, 71), 2.485),  # strong blur: smaller work size, sigma capped near 2.5
        ((1920, 1080), 100, (127, 71), 2.485),
    ],
)
def test_blur_work_plan(size: tuple[int, int], strength: int, work: tuple[int, int], sigma: float) -> None:
    planned_work, planned_sigma = blur_work_plan(size, strength)
    assert planned_work == work
    assert planned_sigma == pytest.approx(sigma, abs=0.01)
    if strength:  # the blur in frame pixels is the reference's, whatever the work size
        assert planned_sigma * size[1] / planned_work[1] == pytest.approx(blur_sigma(size[1], strength))


