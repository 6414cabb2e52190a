"""The blur's work size, sigma and taps: the one plan the CPU reference and the shader both follow."""

from __future__ import annotations

import numpy as np
import pytest

from obs_blur.blur_plan import BLUR_TAP_PAIRS, blur_sigma, blur_taps, blur_work_plan


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




@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.89, 2.485])
def test_the_gpu_blur_taps_are_the_gaussian(sigma: float) -> None:
    """The shader's nine reads (centre, four bilinear pairs) weigh each pixel as the discrete Gaussian does."""
    taps = blur_taps(sigma)
    assert taps.centre + 2 * sum(taps.weights) == pytest.approx(1.0)
    pixel_weights = np.zeros(2 * BLUR_TAP_PAIRS + 1)
    pixel_weights[0] = taps.centre
    for offset, weight in zip(taps.offsets, taps.weights):
        if weight:
            low = int(np.floor(offset))
            pixel_weights[low] += weight * (low + 1 - offset)  # a bilinear read between pixels low and low + 1
            pixel_weights[low + 1] += weight * (offset - low)
    distance = np.arange(pixel_weights.size)
    gaussian = np.exp(-(distance**2) / (2 * sigma**2))
    radius = np.ceil(2.5 * sigma)
    gaussian[distance > 2 * np.ceil(radius / 2)] = 0.0  # whole pairs: the last one may reach radius + 1
    gaussian /= gaussian[0] + 2 * gaussian[1:].sum()
    assert pixel_weights == pytest.approx(gaussian, abs=1e-6)
