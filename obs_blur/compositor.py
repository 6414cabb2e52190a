"""CPU reference compositor: the specification the GPU effect follows.

The modes are those of ``obs_blur.modes``; each mode's ``Composite`` says how its output is made:
the person over a background (blurred, a colour, or a picture scaled to cover), the person alpha as
the alpha channel (for compositing in OBS), or the alpha as grey levels (for checking).

No halo: a plain blur of the whole frame smears the person's colours into the background around
them (the most reported visual defect of the peers). Here the background is estimated from
background pixels only: the frame is weighted by ``1 - alpha`` at full resolution, both the weighted
colours and the weights are area-downscaled and blurred at low resolution, and their ratio is the
background colour. No person pixel contributes, so nothing bleeds; working at about 1/4 resolution
keeps large radii cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from obs_blur.blur_plan import (
    LENS_BLOOM,
    LENS_DEPTH_NEAR,
    LENS_DEPTH_REACH,
    LENS_DEPTH_RIM_TAPS,
    LENS_HIGHLIGHT_FROM,
    LENS_TAPS,
    blur_sigma,
    blur_work_plan,
    lens_offsets,
    lens_radius,
    lens_rim_offsets,
)
from obs_blur.errors import ObsBlurError
from obs_blur.full_size_planes import FullSizePlanes
from obs_blur.modes import DEFAULT_MODE, MODE_NAMES, Composite, Setting, mode_named

#: Below this total background weight, a low-res cell is inside the person: use its plain colour.
MIN_BACKGROUND_WEIGHT = 1e-3


@dataclass(frozen=True)
class CompositeSettings:
    """What the user chose: mode, strength (0-100), colour (B, G, R) and an optional picture."""

    mode: str = DEFAULT_MODE
    strength: float = 50.0
    color: tuple[int, int, int] = (0, 177, 64)
    image: Optional[np.ndarray] = None
    lens_depth: bool = False  # lens mode: the disc smaller next to the person

    def validated(self) -> CompositeSettings:
        if self.mode not in MODE_NAMES:
            raise ObsBlurError(f"unknown mode {self.mode!r}: choose one of {', '.join(MODE_NAMES)}")
        if Setting.PICTURE in mode_named(self.mode).settings and self.image is None:
            raise ObsBlurError(f"mode {self.mode!r} needs a background image")
        return self


def background_blur(
    frame: np.ndarray,
    alpha: np.ndarray,
    strength: float,
    lens: bool = False,
    lens_depth: bool = False,
    planes: Optional[FullSizePlanes] = None,
) -> np.ndarray:
    """Blurred background estimated from background pixels only (BGR uint8, full size).

    Premultiplying by the background weight happens at full resolution in 8 bits (cheap, and a
    person pixel has weight 0 exactly); everything after the area downscale is float at low
    resolution. ``lens``: a disc with blooming highlights (``lens_kernel``) instead of the Gaussian;
    ``lens_depth``: that disc smaller next to the person (``_lens_with_depth``). ``planes``: scratch
    to reuse from frame to frame; the result then lives in them until their next use.
    """
    planes = planes or FullSizePlanes()
    height, width = frame.shape[:2]
    bgr = _contiguous_bgr(frame, planes)
    sigma = blur_sigma(height, strength)
    if sigma <= 0:
        return bgr
    work, small_sigma = blur_work_plan((width, height), strength)
    weight = cv2.subtract(255, alpha, dst=planes.get("weight", (height, width), np.uint8))
    if frame.shape[2] == 4:  # transparent pixels (a picture's transparent border) must not darken the blur
        frame_alpha = cv2.extractChannel(frame, 3, dst=planes.get("frame alpha", (height, width), np.uint8))
        cv2.multiply(weight, frame_alpha, dst=weight, scale=1 / 255)
    weights = cv2.merge([weight, weight, weight], dst=planes.get("weights", (height, width, 3), np.uint8))
    premultiplied = cv2.multiply(bgr, weights, dst=weights, scale=1 / 255)
    small = cv2.resize(premultiplied, work, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_weight = cv2.resize(weight, work, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    if lens and lens_depth:
        gained, gained_weight = _with_highlight_gain(small, small_weight)
        blurred, total = _lens_with_depth(gained, gained_weight, small_weight, lens_radius(small_sigma))
    elif lens:
        small, small_weight = _with_highlight_gain(small, small_weight)
        kernel = lens_kernel(lens_radius(small_sigma))
        blurred = cv2.filter2D(small, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        total = cv2.filter2D(small_weight, -1, kernel, borderType=cv2.BORDER_REPLICATE)[..., None]
    else:
        blurred = cv2.GaussianBlur(small, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)
        total = cv2.GaussianBlur(small_weight, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)[..., None]
    plain = cv2.resize(bgr, work, interpolation=cv2.INTER_AREA).astype(np.float32)
    plain = cv2.GaussianBlur(plain, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)
    estimate = np.where(total > MIN_BACKGROUND_WEIGHT, blurred / np.maximum(total, 1e-6), plain)
    small_u8 = np.clip(estimate + 0.5, 0, 255).astype(np.uint8)
    full = planes.get("background", (height, width, 3), np.uint8)
    return cv2.resize(small_u8, (width, height), dst=full, interpolation=cv2.INTER_LINEAR)


def lens_kernel(radius: float) -> np.ndarray:
    """The lens blur's disc as a correlation kernel summing to 1: ``blur_plan.lens_offsets`` scaled to
    ``radius`` work pixels, each tap spread over its four neighbours as a bilinear read does on the GPU."""
    reach = int(np.ceil(radius)) + 1
    kernel = np.zeros((2 * reach + 1, 2 * reach + 1), np.float32)
    for unit_x, unit_y in lens_offsets():
        x, y = unit_x * radius + reach, unit_y * radius + reach
        left, top = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - left, y - top
        kernel[top, left] += (1 - fx) * (1 - fy)
        kernel[top, left + 1] += fx * (1 - fy)
        kernel[top + 1, left] += (1 - fx) * fy
        kernel[top + 1, left + 1] += fx * fy
    return kernel / LENS_TAPS


def _lens_with_depth(
    gained: np.ndarray, gained_weight: np.ndarray, weight: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """The lens disc gathered per pixel with its radius scaled by the background on its rim.

    ``gained`` and ``gained_weight``: the premultiplied background and its weight with the highlight
    gain; ``weight``: the weight without it, whose mean on a circle around the pixel says how near
    the person is (the formula at ``blur_plan.LENS_DEPTH_NEAR``). Each tap is a bilinear read with the
    edge repeated, as the shader's clamped reads are. Returns the disc sums of both, divided by the
    tap count like ``lens_kernel``.
    """
    height, width = weight.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))

    def read(image: np.ndarray, offset_x: np.ndarray, offset_y: np.ndarray) -> np.ndarray:
        return cv2.remap(image, grid_x + offset_x, grid_y + offset_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    reach = radius * LENS_DEPTH_REACH
    rim = sum(read(weight, np.float32(x * reach), np.float32(y * reach)) for x, y in lens_rim_offsets())
    far = np.clip((rim / LENS_DEPTH_RIM_TAPS - 0.5) * 2.0, 0.0, 1.0)
    scaled = (radius * (LENS_DEPTH_NEAR + (1.0 - LENS_DEPTH_NEAR) * far)).astype(np.float32)
    blurred = np.zeros_like(gained)
    total = np.zeros_like(gained_weight)
    for unit_x, unit_y in lens_offsets():
        offset_x, offset_y = scaled * np.float32(unit_x), scaled * np.float32(unit_y)
        blurred += read(gained, offset_x, offset_y)
        total += read(gained_weight, offset_x, offset_y)
    return blurred / LENS_TAPS, (total / LENS_TAPS)[..., None]


def _with_highlight_gain(small: np.ndarray, small_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied background and its weight, each pixel weighted up by its highlight gain (the
    formula at ``blur_plan.LENS_BLOOM``) from its own colour (BGR, 0..255), as the shader's lens taps do."""
    straight = small / np.maximum(small_weight, 1e-4)[..., None]
    luma = straight @ np.asarray([0.114, 0.587, 0.299], np.float32) / 255.0
    above = np.maximum(luma - LENS_HIGHLIGHT_FROM, 0.0) / (1.0 - LENS_HIGHLIGHT_FROM)
    gain = (1.0 + LENS_BLOOM * above * above).astype(np.float32)
    return small * gain[..., None], small_weight * gain


def _cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop ``image`` to fill width x height without distortion."""
    ih, iw = image.shape[:2]
    scale = max(width / iw, height / ih)
    size = (max(width, round(iw * scale)), max(height, round(ih * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width, :3])


def _contiguous_bgr(frame: np.ndarray, planes: FullSizePlanes) -> np.ndarray:
    """BGR pixels in a contiguous array: OpenCV is 5x slower on strided channel views."""
    if frame.shape[2] == 3:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR, dst=planes.get("bgr", (*frame.shape[:2], 3), np.uint8))


def _blend(
    frame: np.ndarray, background: np.ndarray, alpha: np.ndarray, planes: Optional[FullSizePlanes] = None
) -> np.ndarray:
    """``alpha * frame + (1 - alpha) * background`` in 8 bits; keeps the frame's own alpha channel.

    The result is a new array (a video writer may keep it); ``planes`` holds the steps between.
    """
    planes = planes or FullSizePlanes()
    size = (*frame.shape[:2], 3)
    person = cv2.merge([alpha, alpha, alpha], dst=planes.get("person", size, np.uint8))
    rest = cv2.subtract(255, person, dst=planes.get("rest", size, np.uint8))
    kept = cv2.multiply(_contiguous_bgr(frame, planes), person, dst=person, scale=1 / 255)
    behind = cv2.multiply(background, rest, dst=rest, scale=1 / 255)
    if frame.shape[2] == 3:
        return cv2.add(kept, behind)
    mixed = cv2.add(kept, behind, dst=kept)
    blue, green, red = cv2.split(mixed)
    return cv2.merge([blue, green, red, cv2.extractChannel(frame, 3)])


def composite(
    frame: np.ndarray,
    alpha: np.ndarray,
    settings: CompositeSettings,
    exclude: Optional[np.ndarray] = None,
    planes: Optional[FullSizePlanes] = None,
) -> np.ndarray:
    """Frame (BGR/BGRA uint8) + person alpha (uint8, 255 = person) → output image.

    ``exclude`` (uint8, 255 = keep out of the background estimate; default ``alpha``) lets the blur
    ignore pixels the model is only slightly unsure about (``edge_band.WEIGHT_BAND``), which is what
    keeps a slightly tight mask from leaking the person's colours into the blur.
    Output is BGRA for ``transparent`` (alpha = person coverage times the frame's own alpha) and has
    the frame's channel count otherwise; always a new array. ``planes``: scratch reused from frame
    to frame of a video (``FullSizePlanes``).
    """
    settings = settings.validated()
    planes = planes or FullSizePlanes()
    height, width = frame.shape[:2]
    if alpha.shape != (height, width):
        raise ObsBlurError(f"alpha of shape {alpha.shape} does not match frame {width}x{height}")
    kind = mode_named(settings.mode).composite
    if kind is Composite.ALPHA_AS_GREY:
        grey = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGRA if frame.shape[2] == 4 else cv2.COLOR_GRAY2BGR)
        return grey
    if kind is Composite.ALPHA_CHANNEL:
        bgra = frame if frame.shape[2] == 4 else cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
        out = bgra.copy()
        out[..., 3] = (alpha.astype(np.uint16) * bgra[..., 3] // 255).astype(np.uint8)
        return out
    if kind in (Composite.OVER_BLURRED_BACKGROUND, Composite.OVER_LENS_BLURRED_BACKGROUND):
        lens = kind is Composite.OVER_LENS_BLURRED_BACKGROUND
        background = background_blur(
            frame, alpha if exclude is None else exclude, settings.strength, lens, settings.lens_depth, planes
        )
    elif kind is Composite.OVER_COLOUR:
        background = np.empty((height, width, 3), np.uint8)
        background[:] = np.asarray(settings.color, np.uint8)
    else:
        assert settings.image is not None
        background = _cover(settings.image, width, height)
    return _blend(frame, background, alpha, planes)
