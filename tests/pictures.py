"""Test pictures built from scikit-image's photos, for inputs the photos do not show as they are."""

from __future__ import annotations

import cv2
import numpy as np


def person_far_in_wide_frame(photo: np.ndarray, height: int = 360) -> np.ndarray:
    """A 1280x720 frame with ``photo`` scaled to ``height`` rows in its middle, its edges drawn out to the sides.

    With scikit-image's cameraman the person then fills about 4 % of a 16:9 frame: someone standing
    back from the camera.
    """
    small = cv2.resize(photo, (height, height), interpolation=cv2.INTER_AREA)
    top, left = (720 - height) // 2, (1280 - height) // 2
    return cv2.copyMakeBorder(small, top, 720 - height - top, left, 1280 - height - left, cv2.BORDER_REPLICATE)
