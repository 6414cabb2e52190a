"""Whether a capture is worth segmenting: a still picture whose mask has settled is not segmented again.

A paused video or a photo hands the filter the same pixels every frame. Segmenting them again
would only spend the worker's CPU on the mask already drawn: the model is deterministic, and the
temporal smoothing only moves the mask toward the model's answer for that picture. So once two
masks in a row of the same capture agree, the gate holds until the pixels change (a camera's noise
changes them every frame, so a live camera is always segmented). Numpy only: the OBS layer uses it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: Masks of the same picture whose refinement coefficients differ by less than this have settled:
#: the drawn alpha then moves by less than one 8-bit step (|da| . rgb + |db| with each colour at most 1).
SETTLED_TOLERANCE = 1.0 / 255.0


def coefficients_settled(previous: np.ndarray, current: np.ndarray) -> bool:
    """Whether two masks of the same picture agree to within one 8-bit step of the drawn alpha."""
    if previous.shape != current.shape:
        return False
    change = np.abs(current - previous).reshape(-1, current.shape[-1]).max(axis=0)
    return float(change.sum()) < SETTLED_TOLERANCE


class StillPictureGate:
    """Remembers the last capture sent to the worker and whether its masks settled."""

    def __init__(self) -> None:
        self._capture: Optional[np.ndarray] = None
        self._capture_seq: Optional[int] = None
        self._coefficients: Optional[np.ndarray] = None
        self.settled = False

    def reset(self) -> None:
        """Forget the picture: new settings or a new model make a different mask of the same pixels."""
        self._capture, self._capture_seq, self._coefficients, self.settled = None, None, None, False

    def unchanged(self, capture: np.ndarray) -> bool:
        """True when ``capture`` equals the last picture segmented and its mask has settled: skip it."""
        return self.settled and self._same_picture(capture)

    def segmenting(self, capture: np.ndarray, seq: int) -> None:
        """``capture`` went to the worker as frame ``seq``; a different picture starts settling anew."""
        if not self._same_picture(capture):
            if self._capture is None or self._capture.shape != capture.shape:
                self._capture = np.empty_like(capture)
            np.copyto(self._capture, capture)
            self._coefficients, self.settled = None, False
        self._capture_seq = seq

    def mask_arrived(self, seq: int, coefficients: np.ndarray) -> None:
        """The worker's mask of frame ``seq``: settled when it agrees with the previous mask of the same picture."""
        if seq != self._capture_seq:
            return  # a mask of an earlier picture
        previous, self._coefficients = self._coefficients, coefficients
        if previous is not None:
            self.settled = coefficients_settled(previous, coefficients)

    def _same_picture(self, capture: np.ndarray) -> bool:
        remembered = self._capture
        return remembered is not None and remembered.shape == capture.shape and np.array_equal(capture, remembered)
