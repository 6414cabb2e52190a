"""The blur's work size, sigma and taps, Gaussian and lens: the one plan the CPU reference and the shader follow."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_blur.blur_plan import (
    BLUR_TAP_PAIRS,
    LENS_DEPTH_RIM_TAPS,
    LENS_TAPS,
    blur_sigma,
    blur_taps,
    blur_work_plan,
    lens_offsets,
    lens_radius,
    lens_rim_offsets,
)
from obs_blur.compositor import background_blur, lens_kernel


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


def test_the_lens_kernel_is_the_shaders_disc() -> None:
    """24 bilinear taps spread evenly over a disc of the lens radius, summing to 1."""
    radius = lens_radius(2.0)
    kernel = lens_kernel(radius)
    reach = (kernel.shape[0] - 1) // 2
    ys, xs = np.nonzero(kernel)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.hypot(xs - reach, ys - reach).max() <= radius + np.sqrt(2)  # nothing outside the disc
    assert len(lens_offsets()) == LENS_TAPS and max(np.hypot(x, y) for x, y in lens_offsets()) < 1.0
    effect = (Path(__file__).resolve().parent.parent / "obs_blur" / "effects" / "background_blur.effect").read_text()
    for x, y in lens_offsets():  # the shader spells out the same taps
        assert f"lens_tap(v_in.uv, float2({x:.6f}, {y:.6f}), radius)" in effect
    for x, y in lens_rim_offsets():  # and the same points for the lens depth
        assert f"uv + float2({x:.6f}, {y:.6f}) * reach).a" in effect
    assert f"rim / {LENS_DEPTH_RIM_TAPS}.0" in effect


def test_lens_depth_blurs_less_next_to_the_person_and_the_same_far_away() -> None:
    """Stripes behind a person: next to the outline the depth's smaller disc keeps more of their
    contrast; a few disc radii away both lens blurs are the same; the person's pixels never enter."""
    frame = np.where((np.indices((360, 640))[0] // 16) % 2 == 0, 200, 40).astype(np.uint8)
    frame = cv2.merge([frame, frame, frame])
    alpha = np.zeros((360, 640), np.uint8)
    alpha[60:, 220:420] = 255  # a person from the bottom edge up
    frame[alpha > 0] = (0, 0, 255)  # pure red: any of it in the background would show
    uniform = background_blur(frame, alpha, 70, lens=True).astype(int)
    deep = background_blur(frame, alpha, 70, lens=True, lens_depth=True).astype(int)
    beside, far = (slice(100, 300), slice(200, 216)), (slice(100, 300), slice(0, 40))
    contrast = lambda image: float(image[beside][..., 1].std())  # noqa: E731
    assert contrast(deep) > 1.5 * contrast(uniform), (contrast(deep), contrast(uniform))
    assert np.abs(deep[far] - uniform[far]).max() <= 1
    assert (deep[alpha == 0][:, 2] - deep[alpha == 0][:, 1]).max() <= 1  # no red from the person


def test_a_light_in_the_background_blooms_into_a_disc() -> None:
    """A small bright light: the lens blur spreads it into a wide, bright disc; the Gaussian into a faint blob."""
    frame = np.full((360, 640, 3), 40, np.uint8)
    cv2.circle(frame, (320, 180), 8, (255, 255, 255), -1)
    nobody = np.zeros((360, 640), np.uint8)
    gaussian = background_blur(frame, nobody, 60).astype(int)
    lens = background_blur(frame, nobody, 60, lens=True).astype(int)
    lit_by_lens, lit_by_gaussian = (lens[..., 1] > 60).sum(), (gaussian[..., 1] > 60).sum()
    assert lit_by_lens > 1.5 * lit_by_gaussian, (lit_by_lens, lit_by_gaussian)  # measured 1347 and 703 px
    assert lens.max() > gaussian.max() + 40  # measured 188 and 126: the light stays bright
    far = (slice(0, 60), slice(0, 100))
    assert np.abs(lens[far] - 40).max() <= 1 and np.abs(gaussian[far] - 40).max() <= 1  # the rest stays as it was
