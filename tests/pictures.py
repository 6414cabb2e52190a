"""Test pictures built from scikit-image's photos, for inputs the photos do not show as they are."""

from __future__ import annotations

import cv2
import numpy as np


def person_far_in_wide_frame(photo: np.ndarray, height: int = 360) -> np.ndarray:
    """A 1280x720 frame with ``photo`` scaled to ``height`` rows in its middle, on a plain wall of its edges' colour.

    With scikit-image's cameraman the person then fills about 4 % of a 16:9 frame: someone standing
    back from the camera. A plain wall rather than the photo's edges drawn out: smeared edge
    pixels make stripes that the models half take for a body, so the mask of a crop around the
    person would flip with the slightest change of the crop.
    """
    small = cv2.resize(photo, (height, height), interpolation=cv2.INTER_AREA)
    top, left = (720 - height) // 2, (1280 - height) // 2
    edges = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    wall = [int(value) for value in np.median(edges, axis=0)]
    return cv2.copyMakeBorder(
        small, top, 720 - height - top, left, 1280 - height - left, cv2.BORDER_CONSTANT, value=wall
    )
