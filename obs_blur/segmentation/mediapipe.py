"""MediaPipe selfie segmentation (general 256x256, landscape 256x144): fixed input size, shipped.

MediaPipe stretches the whole frame to the model size (no letterbox) with a corner-aligned bilinear
warp; reproducing that exactly keeps parity with Google's own pipeline. Its output is already a
probability (the graph ends in a sigmoid).
"""

from __future__ import annotations

import cv2
import numpy as np

from obs_blur.segmentation.base import Segmenter, Size
from obs_blur.segmentation.capture import CAPTURE


class MediaPipeSegmenter(Segmenter):
    """A MediaPipe selfie model: the frame warped to the model's size, a probability out."""

    gpu_downsample = CAPTURE["mediapipe"].downsample

    def _resize(self, frame: np.ndarray, size: Size, out: np.ndarray) -> None:
        sx, sy = size[0] / frame.shape[1], size[1] / frame.shape[0]
        warp = np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]], np.float64)
        # When the frame is an exact multiple of the model size (1280x720 → 256x144), every sample
        # falls on a pixel centre: nearest gives the same values as bilinear and reads half the memory.
        exact = frame.shape[1] % size[0] == 0 and frame.shape[0] % size[1] == 0
        interpolation = cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR
        cv2.warpAffine(frame, warp, size, dst=out, flags=interpolation, borderMode=cv2.BORDER_REPLICATE)

    def postprocess(self, output: np.ndarray, size: Size) -> np.ndarray:
        mask = output.reshape(output.shape[1], output.shape[2])
        if (mask.shape[1], mask.shape[0]) != size:
            return cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        return mask.copy()
