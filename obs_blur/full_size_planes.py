"""Scratch planes at the frame's full size, reused from frame to frame by the command line's CPU path.

The refinement (``refine.apply_coefficients``) and the compositor write several full-size planes per
frame; where each is a fresh allocation, the operating system maps new pages for it every frame,
and that costs more than the arithmetic (measured in docs/PERFORMANCE.md, section 1). The OBS
filter does this work on the GPU and never needs them.
"""

from __future__ import annotations

import numpy as np


class FullSizePlanes:
    """Named full-resolution scratch planes, kept from one frame to the next of a stream.

    A video's frames all have one size, so each plane is allocated once. One instance belongs to
    one stream (a pipeline, a video being written); it is not shared between threads.
    """

    def __init__(self) -> None:
        self._planes: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def get(self, name: str, size: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        """The plane called ``name`` of ``size`` (height, width[, channels]), allocated once per size.

        Its contents are whatever the last user left: every caller writes it whole before reading.
        """
        key = (name, size)
        plane = self._planes.get(key)
        if plane is None or plane.dtype != dtype:
            if len(self._planes) > 32:  # sizes changed: forget the old ones
                self._planes.clear()
            plane = self._planes[key] = np.empty(size, dtype)
        return plane
