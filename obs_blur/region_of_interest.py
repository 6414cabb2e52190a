"""A crop around the person, so that someone standing back from the camera gets more model pixels.

Both MediaPipe models see the whole frame at 256 pixels across: a person filling a tenth of a 16:9
frame is segmented from a few thousand pixels, and their outline is a guess. The filter therefore
captures the frame at twice the model's size (``segmentation/capture.py``, ``detail``), and once a
mask shows where the person is, the model is fed a crop around them at its own input size, cut from
that capture, and its answer is placed back on the mask's grid. Outside the crop the mask is
background. Measured on the dev set (docs/QUALITY.md, "Region of interest").

How the crop is chosen, from the last smoothed mask (``RegionTracker``):

- the box of the person's pixels, with a margin, widened to the model's shape in the frame's own
  pixels (a crop the model sees undistorted segments better than one stretched like the whole
  frame), and kept inside the frame;
- it holds still while the person moves inside it: a crop that moved every frame would move the
  model's sampling grid and make the outline shimmer. It moves when the person nears an edge that
  is not the frame's, and shrinks when they fill much less of it. A person the crop cuts off (who
  walked towards the camera) touches its edge, so the crop grows by the margin on every mask until
  it holds them or gives way to the whole frame. It never shrinks by less than half, so growing
  and shrinking cannot take turns;
- the whole frame instead when the mask has no person, or when the crop would cover most of the
  frame anyway (``WHOLE_FRAME_FROM``; back to a crop only below ``CROP_BELOW``);
- every ``LOOK_AROUND_EVERY`` masks the model also sees the whole frame, after the mask has gone
  back (``MaskPipeline.look_around``), so that a second person walking in at the side is taken in.

Coordinates are fractions of the frame in the corner-aligned convention of the capture: grid pixel
``k`` of any resize of width ``n`` sits at ``k / n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

#: Probability from which a mask pixel is the person's.
PERSON_FROM = 0.5
#: Added to each side of the person's box, as a share of the box's size.
MARGIN = 0.10
#: Crops are placed on a grid of this share of the frame, so that a box a grid pixel off (another
#: build of onnxruntime or OpenCV, a camera's noise) usually gives the same crop.
SNAP = 1 / 64
#: The crop moves once the person's box comes this close (share of its size) to an inner crop edge.
GUARD = 0.04
#: The crop shrinks once a fresh crop would cover less than this share of its area.
SHRINK_BELOW = 0.5
#: A crop covering this share of the frame or more gains nothing: the model sees the whole frame.
WHOLE_FRAME_FROM = 0.8
#: From the whole frame, a crop is taken only below this share: a person on the border between the
#: two would otherwise switch between them on every mask, and a still picture would never settle.
CROP_BELOW = 0.7
#: Masks between two looks at the whole frame (about once a second at 30 fps).
LOOK_AROUND_EVERY = 30
#: Share of the frame that a whole-frame look must find outside the crop to widen it.
NEWCOMER_SHARE = 0.005
#: Fewer person pixels than this on the mask's grid: no person to crop around.
MIN_PERSON_PIXELS = 4


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame, in fractions of its width and height."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def area(self) -> float:
        return self.width * self.height


def person_box(mask: np.ndarray) -> Optional[Region]:
    """The box of the mask's person pixels, or None when there are too few to say where they are."""
    person = mask >= PERSON_FROM
    if np.count_nonzero(person) < MIN_PERSON_PIXELS:
        return None
    rows, columns = np.flatnonzero(person.any(axis=1)), np.flatnonzero(person.any(axis=0))
    height, width = mask.shape
    return Region(
        columns[0] / width, rows[0] / height, (columns[-1] + 1 - columns[0]) / width, (rows[-1] + 1 - rows[0]) / height
    )


def crop_around(box: Region, frame_aspect: float, model_aspect: float) -> Optional[Region]:
    """The crop for a person's ``box``: margin, the model's shape in frame pixels, on the grid, in the frame.

    ``frame_aspect`` and ``model_aspect`` are width / height of the frame and of the model's input.
    The crop is placed on a grid of ``SNAP`` and grown by two grid steps so that, wherever the grid
    puts it, the box and its margin stay inside. None when it would cover ``WHOLE_FRAME_FROM`` of the
    frame or more.
    """
    shape = model_aspect / frame_aspect  # the crop's width / height in fractions of the frame
    needed_width = box.width * (1 + 2 * MARGIN) + 2 * SNAP
    needed_height = box.height * (1 + 2 * MARGIN) + 2 * SNAP
    height = float(np.ceil(max(needed_height, needed_width / shape) / SNAP) * SNAP)
    width, height = min(height * shape, 1.0), min(height, 1.0)
    if width * height >= WHOLE_FRAME_FROM:
        return None
    left = np.floor((box.left + box.width / 2 - width / 2) / SNAP) * SNAP
    top = np.floor((box.top + box.height / 2 - height / 2) / SNAP) * SNAP
    left, top = min(max(float(left), 0.0), 1.0 - width), min(max(float(top), 0.0), 1.0 - height)
    return Region(left, top, width, height)


def near_inner_edge(box: Region, crop: Region, guard_x: float, guard_y: float) -> bool:
    """Whether the person's box comes within ``guard_x``/``guard_y`` of a crop edge that is not the frame's."""
    edge = 1e-6
    return (
        (crop.left > edge and box.left - crop.left < guard_x)
        or (crop.right < 1 - edge and crop.right - box.right < guard_x)
        or (crop.top > edge and box.top - crop.top < guard_y)
        or (crop.bottom < 1 - edge and crop.bottom - box.bottom < guard_y)
    )


@dataclass(frozen=True)
class CaptureWindow:
    """Pixels of the capture's grid: the whole capture (the filter's), or the part a crop needs."""

    pixels: np.ndarray
    origin: tuple[int, int]  # the capture pixel (x, y) at pixels[0, 0]
    capture_size: tuple[int, int]  # (width, height) of the whole capture

    @classmethod
    def whole(cls, capture: np.ndarray) -> CaptureWindow:
        return cls(capture, (0, 0), (capture.shape[1], capture.shape[0]))


def capture_window(frame: np.ndarray, crop: Region, capture_size: tuple[int, int]) -> CaptureWindow:
    """The capture pixels under ``crop``, warped from a full ``frame`` as the whole capture would be.

    The command line has full frames: warping only the crop's part of the capture grid (the
    corner-aligned warp, pixel ``k`` at ``k * W / n``, which a family with ``detail`` > 1 uses)
    gives the pixels the filter's capture holds there, at a fraction of the whole warp's cost.
    """
    capture_width, capture_height = capture_size
    left, top = int(np.floor(crop.left * capture_width)), int(np.floor(crop.top * capture_height))
    right = min(capture_width, int(np.ceil(crop.right * capture_width)) + 2)
    bottom = min(capture_height, int(np.ceil(crop.bottom * capture_height)) + 2)
    step_x, step_y = frame.shape[1] / capture_width, frame.shape[0] / capture_height
    warp = np.array([[step_x, 0.0, left * step_x], [0.0, step_y, top * step_y]])
    pixels = cv2.warpAffine(
        frame,
        warp,
        (right - left, bottom - top),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return CaptureWindow(pixels, (left, top), capture_size)


def crop_input(window: CaptureWindow, crop: Region, size: tuple[int, int]) -> np.ndarray:
    """The ``crop`` of the capture resized to ``size`` (the model's input), corner-aligned bilinear."""
    width, height = window.capture_size
    step_x, step_y = crop.width * width / size[0], crop.height * height / size[1]
    left, top = crop.left * width - window.origin[0], crop.top * height - window.origin[1]
    warp = np.array([[step_x, 0.0, left], [0.0, step_y, top]])
    return cv2.warpAffine(
        window.pixels, warp, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def place_back(crop_mask: np.ndarray, crop: Region, size: tuple[int, int]) -> np.ndarray:
    """The model's mask of ``crop`` placed on the whole frame's mask grid of ``size``; background elsewhere."""
    mask_height, mask_width = crop_mask.shape
    scale_x, scale_y = mask_width / crop.width, mask_height / crop.height
    warp = np.array([[scale_x / size[0], 0.0, -crop.left * scale_x], [0.0, scale_y / size[1], -crop.top * scale_y]])
    return cv2.warpAffine(
        crop_mask, warp, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT
    )


class RegionTracker:
    """Where the model looks next: a crop around the person held steady, or the whole frame (None)."""

    def __init__(self, model_aspect: float) -> None:
        self.model_aspect = model_aspect
        self.crop: Optional[Region] = None
        self._masks_since_look = 0

    def reset(self) -> None:
        """A new stream: look at the whole frame first."""
        self.crop, self._masks_since_look = None, 0

    def follow(self, mask: np.ndarray, frame_aspect: float) -> None:
        """After a mask on the whole frame's grid: where to look for the next frame."""
        self._masks_since_look += 1
        box = person_box(mask)
        if box is None:
            self.crop = None
            return
        fresh = crop_around(box, frame_aspect, self.model_aspect)
        if self._should_move(box, fresh):
            if self.crop is None:
                self._masks_since_look = 0  # that mask was the whole frame's
            self.crop = fresh

    def _should_move(self, box: Region, fresh: Optional[Region]) -> bool:
        """Move to ``fresh`` only when the current crop no longer fits the person well."""
        current = self.crop
        if current is None:
            return fresh is not None and fresh.area < CROP_BELOW
        if fresh is None:
            return True
        nearing = near_inner_edge(box, current, GUARD * box.width, GUARD * box.height)
        return nearing or fresh.area < SHRINK_BELOW * current.area

    @property
    def look_around_due(self) -> bool:
        """A crop is in use and the model has not seen the whole frame for ``LOOK_AROUND_EVERY`` masks."""
        return self.crop is not None and self._masks_since_look >= LOOK_AROUND_EVERY

    def looked_around(self, whole_frame_mask: np.ndarray, frame_aspect: float) -> None:
        """The model's mask of the whole frame: widen the crop to anyone it finds outside it."""
        self._masks_since_look = 0
        crop = self.crop
        if crop is None or _share_outside(whole_frame_mask, crop) < NEWCOMER_SHARE:
            return
        everyone = person_box(whole_frame_mask)
        self.crop = None if everyone is None else crop_around(everyone, frame_aspect, self.model_aspect)

    @property
    def crop_share(self) -> float:
        """The share of the frame the next mask looks at: the crop's area, 1 for the whole frame."""
        return self.crop.area if self.crop is not None else 1.0


def _share_outside(mask: np.ndarray, crop: Region) -> float:
    """Share of the frame's grid pixels outside ``crop`` that the mask calls the person's."""
    height, width = mask.shape
    inside = np.zeros(mask.shape, bool)
    left, right = int(np.floor(crop.left * width)), int(np.ceil(crop.right * width))
    top, bottom = int(np.floor(crop.top * height)), int(np.ceil(crop.bottom * height))
    inside[top:bottom, left:right] = True
    return float(np.count_nonzero((mask >= PERSON_FROM) & ~inside)) / mask.size
