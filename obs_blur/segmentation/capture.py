"""How each family's model is fed, in the terms the OBS filter needs: the capture size and the GPU resize.

Pure arithmetic on a manifest entry, with nothing but the standard library: the OBS filter reads it
inside OBS's own process to size its GPU capture, and OpenCV and onnxruntime (which the families'
per-frame code needs) have no business there, where their threads and exit handlers would run
inside OBS. Each family's ``Segmenter`` takes its class-level facts from here, so the filter and the
command line cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.manifest import ModelSpec

Size = tuple[int, int]  # (width, height)

#: BodyPix capture size along the long side (16k+1): 321 keeps inference near 1-3 ms on one CPU core.
BODYPIX_LONG_SIDE = 321


class GpuDownsample(Enum):
    """The GPU resize to capture size that reproduces a family's own resize.

    Each value names a technique of ``effects/background_blur.effect``; the OBS filter draws with it,
    so the filter's model input equals what the command line feeds the model.
    """

    CORNER_ALIGNED_BILINEAR = "DownsampleCorner"  # MediaPipe's ImageToTensor warp, one tap
    AREA = "Downsample"  # area-like 4-tap downscale, as OpenCV's INTER_AREA


@dataclass(frozen=True)
class CaptureGeometry:
    """A family's capture: the GPU resize it needs, its model's input size for a frame size, its detail.

    ``detail`` > 1 captures that many model inputs across and down. The model's view of the whole
    frame is then every ``detail``-th capture pixel, which is exactly the family's own resize only
    for a corner-aligned warp (sample ``k`` of a size-``n`` resize reads the frame at ``k * W / n``),
    so only such a family may set it. The extra pixels feed the model a crop around a person who
    fills a small part of the frame (``obs_blur/region_of_interest.py``).
    """

    downsample: GpuDownsample
    input_size_for: Callable[[ModelSpec, int, int], Size]
    detail: int = 1


def fixed_input_size(spec: ModelSpec, width: int, height: int) -> Size:
    """A model with one input size (MediaPipe): the whole frame is stretched to it, whatever its shape."""
    del width, height
    size = spec.fixed_input_size
    if size is None:
        raise ObsBlurError(f"models manifest gives no input width and height for {spec.name}")
    return size


def bodypix_input_size(spec: ModelSpec, width: int, height: int) -> Size:
    """BodyPix takes any 16k+1 size: the frame's aspect ratio kept, the long side at BODYPIX_LONG_SIDE."""
    fixed = spec.fixed_input_size
    if fixed is not None:
        return fixed
    long_side = BODYPIX_LONG_SIDE
    if width >= height:
        return (long_side, _grid_size(height / max(width, 1) * (long_side - 1)))
    return (_grid_size(width / max(height, 1) * (long_side - 1)), long_side)


def _grid_size(length: float) -> int:
    """Round a length to the nearest 16k+1 (at least 33)."""
    return max(2, round(length / 16)) * 16 + 1


#: The manifest's ``family`` value -> how its models are fed.
CAPTURE: dict[str, CaptureGeometry] = {
    "mediapipe": CaptureGeometry(GpuDownsample.CORNER_ALIGNED_BILINEAR, fixed_input_size, detail=2),
    "bodypix": CaptureGeometry(GpuDownsample.AREA, bodypix_input_size),
}


def capture_geometry(spec: ModelSpec) -> CaptureGeometry:
    """How ``spec``'s model is fed, or a clear error for a family this version does not know."""
    geometry = CAPTURE.get(spec.family)
    if geometry is None:
        raise ObsBlurError(f"model {spec.name} has unknown family {spec.family!r}")
    return geometry


def mask_size_for(spec: ModelSpec, width: int, height: int) -> Size:
    """The (width, height) of ``spec``'s model input for a ``width`` x ``height`` frame: the mask's grid."""
    return capture_geometry(spec).input_size_for(spec, width, height)


def capture_size_for(spec: ModelSpec, width: int, height: int, detailed: bool = True) -> Size:
    """The (width, height) at which the filter captures a ``width`` x ``height`` frame for ``spec``'s model.

    ``detailed``: with the family's extra detail, which only a crop around the person uses; without
    it the capture is the model's input for the whole frame, a quarter of the pixels to render and
    read back.
    """
    geometry = capture_geometry(spec)
    input_width, input_height = geometry.input_size_for(spec, width, height)
    detail = geometry.detail if detailed else 1
    return (input_width * detail, input_height * detail)
