"""Edge-aware upsampling of the low-resolution mask, with a soft edge band.

The model sees the frame at about 256x144, so its mask is blocky at 1080p and misses hair and the
exact outline. A *fast guided filter* (He & Sun, 2015) fixes that: on a grid half the mask's size
it fits, in every small window, the mask as a linear function of the frame's colour
(``mask ≈ a·rgb + b``, three numbers in ``a``), then the coefficients are upsampled and applied to
the full-resolution colour, so the outline follows the real edges of the frame. A colour guide, not
brightness alone: a person and a background of the same brightness differ in colour, and on the dev
set it sharpens the outline and steadies it over time (docs/QUALITY.md, "Refinement"). The
expensive part runs on that small grid; the full-resolution part is one dot product per pixel, which
the OBS effect does on the GPU with one bilinear read of an RGBA texture. The CPU path here is the
reference the shader follows.

The soft edge band maps the refined probability through ``smoothstep(low, high, q)``: a hard
threshold shimmers, a wide ramp makes a semi-transparent outline; the band is folded into ``a`` and
``b`` so it costs nothing extra at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from obs_blur.edge_band import WEIGHT_BAND, visible_band
from obs_blur.full_size_planes import FullSizePlanes


@dataclass(frozen=True)
class RefineSettings:
    """Where the guided filter is fitted, its radius and regularisation, and the soft edge band.

    The fit runs on a grid ``subsample`` times coarser than the mask's (the "fast" guided filter's
    subsampling), with ``radius`` counted on that grid. Chosen by a sweep on the dev images and the
    ``lucia`` clip (docs/QUALITY.md, "Refinement"): with a colour guide a window of about 10 mask
    pixels sharpens and steadies the outline best; fitted at half size it costs a quarter (about
    1 ms instead of 3.5 ms a mask in the worker) for 0.02x more flicker and the same edges.
    """

    subsample: int = 2
    radius: int = 2
    eps: float = 0.0001
    #: Edge softness 0..1: the width of the smoothstep band around probability 0.5.
    softness: float = 0.35

    @property
    def band(self) -> tuple[float, float]:
        return visible_band(self.softness)


DEFAULT_REFINE = RefineSettings()

#: The distinct products of two colour channels (0 red, 1 green, 2 blue): the colour covariance's upper triangle.
_PRODUCTS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def band_coefficients(
    small_frame: np.ndarray, mask: np.ndarray, settings: RefineSettings = DEFAULT_REFINE
) -> np.ndarray:
    """Colour guided-filter coefficients with the edge band folded in, on the fit's grid.

    Returns float32 ``(h, w, 4)`` on a grid ``RefineSettings.subsample`` times coarser than the
    mask's: ``t = a . rgb + b`` with rgb the frame's red, green and blue in 0..1 is the position
    within the soft edge band (clamped to 0..1, then smoothstepped) at any resolution. A colour
    guide separates a person from a background of the same brightness (a blue shirt before a red
    wall), which a brightness guide cannot: docs/QUALITY.md, "Refinement". Computed on planes (one
    contiguous array per quantity), where numpy is faster than on interleaved channels.
    """
    size = (2 * settings.radius + 1,) * 2
    small_frame, mask = _fit_grid(small_frame, mask, settings.subsample)
    colour = [plane.astype(np.float32) * np.float32(1 / 255) for plane in cv2.split(small_frame)[2::-1]]
    inputs = [*colour, mask, *(plane * mask for plane in colour)]
    inputs += [colour[i] * colour[j] for i, j in _PRODUCTS]
    means = [cv2.boxFilter(plane, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT) for plane in inputs]
    mean_colour, mean_mask = means[0:3], means[3]
    covariance = [means[4 + c] - mean_colour[c] * mean_mask for c in range(3)]
    a = _solve_symmetric(_regularised_variances(means[7:], mean_colour, settings.eps), covariance)
    b = mean_mask - a[0] * mean_colour[0] - a[1] * mean_colour[1] - a[2] * mean_colour[2]
    low, high = settings.band
    scale = np.float32(1.0 / (high - low))
    fitted = [cv2.boxFilter(plane, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT) * scale for plane in (*a, b)]
    fitted[3] -= np.float32(low) * scale
    return cv2.merge(fitted)


def _fit_grid(small_frame: np.ndarray, mask: np.ndarray, subsample: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame and mask averaged onto the fit's grid (``subsample`` times coarser, at least 1x1)."""
    if subsample <= 1:
        return small_frame, mask
    height, width = mask.shape
    size = (max(1, round(width / subsample)), max(1, round(height / subsample)))
    frame_on_grid = cv2.resize(small_frame, size, interpolation=cv2.INTER_AREA)
    return frame_on_grid, cv2.resize(mask, size, interpolation=cv2.INTER_AREA)


def _regularised_variances(
    products: list[np.ndarray], mean_colour: list[np.ndarray], eps: float
) -> list[np.ndarray]:
    """The colour covariance of each window, plus ``eps`` on the diagonal: rr, rg, rb, gg, gb, bb."""
    variances = []
    for mean_product, (i, j) in zip(products, _PRODUCTS):
        variance = mean_product - mean_colour[i] * mean_colour[j]
        if i == j:
            variance += np.float32(eps)
        variances.append(variance)
    return variances


def _solve_symmetric(variances: list[np.ndarray], covariance: list[np.ndarray]) -> list[np.ndarray]:
    """``inverse(variances) @ covariance`` per pixel, for symmetric 3x3 matrices (by cofactors)."""
    rr, rg, rb, gg, gb, bb = variances
    c_rr, c_rg, c_rb = gg * bb - gb * gb, rb * gb - rg * bb, rg * gb - rb * gg
    c_gg, c_gb, c_bb = rr * bb - rb * rb, rg * rb - rr * gb, rr * gg - rg * rg
    inverse_det = np.float32(1.0) / (rr * c_rr + rg * c_rg + rb * c_rb)
    x, y, z = covariance
    return [
        (c_rr * x + c_rg * y + c_rb * z) * inverse_det,
        (c_rg * x + c_gg * y + c_gb * z) * inverse_det,
        (c_rb * x + c_gb * y + c_bb * z) * inverse_det,
    ]


#: smoothstep(0, 1, t) on 256 levels of t, as 8-bit alpha.
_LEVELS = np.linspace(0.0, 1.0, 256)
_SMOOTHSTEP_LUT = np.round(255 * _LEVELS * _LEVELS * (3 - 2 * _LEVELS)).astype(np.uint8)


def apply_coefficients(
    coefficients: np.ndarray, frame: np.ndarray, planes: Optional[FullSizePlanes] = None
) -> np.ndarray:
    """Full-resolution alpha (uint8, 255 = person) from the coefficients and the frame (BGR or BGRA).

    Plane by plane, where OpenCV is fastest (a three-channel float resize by 10x is several times
    slower than three single ones): upsample ``a`` for each colour and ``b``, multiply and add with
    the frame's planes, add ``b`` with a saturating cast to 8 bits, and the smoothstep lookup.
    ``planes``: scratch planes to reuse from frame to frame (``FullSizePlanes``).
    """
    planes = planes or FullSizePlanes()
    size = frame.shape[:2]
    up = [
        cv2.resize(
            np.ascontiguousarray(coefficients[..., k]), size[::-1], dst=planes.get(f"up{k}", size),
            interpolation=cv2.INTER_LINEAR,
        )
        for k in range(4)
    ]
    t, product = planes.get("t", size), planes.get("product", size)
    for k, channel in enumerate((2, 1, 0)):  # a_red reads the frame's red, which OpenCV keeps third
        colour = cv2.extractChannel(frame, channel, dst=planes.get("colour", size, np.uint8))
        cv2.multiply(up[k], colour, dst=product if k else t, dtype=cv2.CV_32F)
        if k:
            cv2.add(t, product, dst=t)
    position = cv2.addWeighted(t, 1.0, up[3], 255.0, 0.0, dst=planes.get("position", size, np.uint8), dtype=cv2.CV_8U)
    return cv2.LUT(position, _SMOOTHSTEP_LUT)


def refine_mask(
    frame: np.ndarray, small_frame: np.ndarray, mask: np.ndarray, settings: RefineSettings = DEFAULT_REFINE
) -> np.ndarray:
    """Capture-size probability mask → full-resolution 8-bit alpha aligned to the frame's edges.

    ``small_frame`` is the frame as the model saw it (capture size): fitting the coefficients against
    exactly the pixels the mask was computed from keeps mask and guide aligned.
    """
    return refine_with_weights(frame, small_frame, mask, settings)[0]


def refine_with_weights(
    frame: np.ndarray, small_frame: np.ndarray, mask: np.ndarray, settings: RefineSettings = DEFAULT_REFINE
) -> tuple[np.ndarray, np.ndarray]:
    """(visible alpha, alpha that keeps pixels out of the background blur): both uint8, full size.

    The second is the visible alpha or the model's own probability in the wide ``WEIGHT_BAND``,
    whichever is higher: the colour fit draws the outline crisply at the colour edge, and a pixel
    just outside it that the model still gives a small chance (a mixed pixel of hair or shirt) must
    stay out of the background estimate all the same (docs/PERFORMANCE.md, "Halo").
    """
    return alphas_from_coefficients(frame, band_coefficients(small_frame, mask, settings), mask)


def alphas_from_coefficients(
    frame: np.ndarray, coefficients: np.ndarray, mask: np.ndarray, planes: Optional[FullSizePlanes] = None
) -> tuple[np.ndarray, np.ndarray]:
    """``refine_with_weights`` from coefficients already fitted (and smoothed over time) for ``mask``."""
    alpha = apply_coefficients(coefficients, frame, planes)
    exclusion = banded_upsample(frame.shape, mask, WEIGHT_BAND, planes)
    return alpha, cv2.max(alpha, exclusion, dst=exclusion)


def banded_upsample(
    frame_shape: tuple[int, ...], mask: np.ndarray, band: tuple[float, float], planes: Optional[FullSizePlanes] = None
) -> np.ndarray:
    """The mask upsampled bilinearly to the frame, through ``smoothstep(band)``: uint8, 255 = person."""
    planes = planes or FullSizePlanes()
    size = (frame_shape[0], frame_shape[1])
    up = cv2.resize(mask, size[::-1], dst=planes.get("mask", size), interpolation=cv2.INTER_LINEAR)
    low, high = band
    scale = 255.0 / (high - low)
    position = planes.get("position", size, np.uint8)
    cv2.addWeighted(up, scale, up, 0.0, -low * scale, dst=position, dtype=cv2.CV_8U)  # saturates at 0 and 255
    return cv2.LUT(position, _SMOOTHSTEP_LUT)


def bilinear_alpha(
    frame_shape: tuple[int, ...], mask: np.ndarray, settings: RefineSettings = DEFAULT_REFINE
) -> np.ndarray:
    """The unrefined baseline: bilinear upsampling plus the same edge band (for quality comparison)."""
    return banded_upsample(frame_shape, mask, settings.band)
