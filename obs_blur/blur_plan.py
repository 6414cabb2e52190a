"""How strong the background blur is, and at which resolution it is computed: plain arithmetic.

The CPU compositor and the OBS filter's GPU passes follow the same plan, so the filter's blur equals
the command line's. Standard library only: the filter imports it inside OBS's process, where OpenCV
is never loaded.
"""

from __future__ import annotations

import math
from typing import NamedTuple

#: Blur sigma at strength 100, as a fraction of the frame height (about 25 px at 720p).
MAX_SIGMA_PER_HEIGHT = 0.035
#: The background blur works at this fraction of the frame's resolution (or finer for small frames).
BLUR_WORK_SCALE = 0.25
#: The blur's sigma in work pixels never exceeds this: a stronger blur works at a coarser grid instead.
#: A software renderer (llvmpipe) pays for every texture read; at 720p and strength 100 the fixed 1/4
#: work size needed 17 reads per pixel and pass and dropped the filter to 24 fps, where sigma 2.5 needs
#: 9 reads on about 1/6 of the pixels. A Gaussian this wide hides the coarser grid.
MAX_WORK_SIGMA = 2.5


def blur_sigma(height: int, strength: float) -> float:
    """Gaussian sigma in full-resolution pixels; continuous in strength, proportional to height."""
    return min(max(float(strength), 0.0), 100.0) / 100.0 * MAX_SIGMA_PER_HEIGHT * height


def blur_work_plan(size: tuple[int, int], strength: float) -> tuple[tuple[int, int], float]:
    """(work size, Gaussian sigma in work pixels) of the background blur for a frame of ``size``.

    ``BLUR_WORK_SCALE`` of the frame, or coarser when the blur is strong enough that its sigma would
    exceed ``MAX_WORK_SIGMA`` work pixels; the blur in frame pixels stays ``blur_sigma``.
    """
    width, height = size
    sigma_frame = blur_sigma(height, strength)
    scale = BLUR_WORK_SCALE if sigma_frame <= 0 else min(BLUR_WORK_SCALE, MAX_WORK_SIGMA / sigma_frame)
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    return work, sigma_frame * work[1] / height


#: Pairs of taps the GPU blur reads on each side of the centre: radius ceil(2.5 * MAX_WORK_SIGMA) = 7
#: work pixels, one bilinear read per pair of neighbouring pixels (1-2, 3-4, 5-6, 7-8).
BLUR_TAP_PAIRS = 4


class BlurTaps(NamedTuple):
    """One pass of the separable Gaussian as the shader reads it: weights normalised to sum 1.

    The centre pixel has weight ``centre``; pair k is read at ±``offsets[k]`` work pixels, each side
    with weight ``weights[k]``. A pair beyond the kernel has weight 0.
    """

    centre: float
    offsets: tuple[float, float, float, float]
    weights: tuple[float, float, float, float]


def blur_taps(sigma: float) -> BlurTaps:
    """The taps of a Gaussian of ``sigma`` work pixels, computed once per frame instead of per pixel.

    Two neighbouring pixels i and i+1 share one bilinear read placed between them in proportion to
    their weights (the linear-sampling trick); the kernel reaches ceil(2.5 sigma) pixels, at most
    ``BLUR_TAP_PAIRS`` pairs (``blur_work_plan`` keeps sigma at ``MAX_WORK_SIGMA`` or less).
    """
    s = max(sigma, 0.01)
    radius = min(math.ceil(2.5 * s), 2 * BLUR_TAP_PAIRS - 1)
    offsets, weights = [0.0] * BLUR_TAP_PAIRS, [0.0] * BLUR_TAP_PAIRS
    for pair, i in enumerate(range(1, radius + 1, 2)):
        w0, w1 = math.exp(-(i * i) / (2 * s * s)), math.exp(-((i + 1) * (i + 1)) / (2 * s * s))
        if w0 + w1 < 1e-6:
            break  # the rest of the kernel is zero (a tiny sigma)
        offsets[pair], weights[pair] = (i * w0 + (i + 1) * w1) / (w0 + w1), w0 + w1
    total = 1.0 + 2.0 * sum(weights)
    normalised = tuple(weight / total for weight in weights)
    return BlurTaps(1.0 / total, tuple(offsets), normalised)  # type: ignore[arg-type]


#: The lens blur reads this many taps spread evenly over a disc (a Vogel spiral: golden-angle steps,
#: radius growing with the square root of the index, so each tap covers the same area).
LENS_TAPS = 24
#: The disc's radius in units of the Gaussian's sigma at the same strength: a disc of 2 sigma looks
#: about as blurred as the Gaussian does, with the hard edge a lens gives out-of-focus highlights.
LENS_RADIUS_PER_SIGMA = 2.0
#: Highlights bloom: a background pixel brighter than LENS_HIGHLIGHT_FROM (luma 0..1) weighs
#: 1 + LENS_BLOOM * ((luma - LENS_HIGHLIGHT_FROM) / (1 - LENS_HIGHLIGHT_FROM))^2 times more in the disc
#: average (up to 1 + LENS_BLOOM), so bright spots spread into visible discs.
LENS_HIGHLIGHT_FROM = 0.75
LENS_BLOOM = 8.0
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


def lens_offsets() -> tuple[tuple[float, float], ...]:
    """The disc's taps on the unit disc (multiply by the radius): the shader has the same numbers."""
    return tuple(
        (
            math.sqrt((index + 0.5) / LENS_TAPS) * math.cos(index * _GOLDEN_ANGLE),
            math.sqrt((index + 0.5) / LENS_TAPS) * math.sin(index * _GOLDEN_ANGLE),
        )
        for index in range(LENS_TAPS)
    )


#: With "lens depth" on, the disc shrinks next to the person: its radius is scaled by
#: LENS_DEPTH_NEAR + (1 - LENS_DEPTH_NEAR) * clamp(2 * (rim - 0.5), 0, 1), where rim is the mean
#: background weight at LENS_DEPTH_RIM_TAPS points on a circle of LENS_DEPTH_REACH times the full
#: disc's radius: LENS_DEPTH_NEAR at the outline (half the circle on the person), the whole radius
#: that far away (all background), as a lens focused on the person blurs what lies behind them
#: more the farther it is.
LENS_DEPTH_NEAR = 0.35
LENS_DEPTH_REACH = 2.0
LENS_DEPTH_RIM_TAPS = 8


def lens_rim_offsets() -> tuple[tuple[float, float], ...]:
    """Where the depth estimate reads, on the unit circle (times ``LENS_DEPTH_REACH`` and the disc's radius).

    The shader has the same numbers."""
    return tuple(
        (math.cos(2 * math.pi * index / LENS_DEPTH_RIM_TAPS), math.sin(2 * math.pi * index / LENS_DEPTH_RIM_TAPS))
        for index in range(LENS_DEPTH_RIM_TAPS)
    )


def lens_radius(sigma: float) -> float:
    """The disc's radius in work pixels for a Gaussian of ``sigma`` work pixels at the same strength."""
    return LENS_RADIUS_PER_SIGMA * sigma
