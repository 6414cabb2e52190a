"""A video that behaves like a webcam for the filter: the picture moves and no two frames are equal.

A still photo is not segmented again once its mask settled (``obs_blur/still_picture.py``), so
whatever measures the filter's steady work (the mask's age, the benchmark's CPU) needs frames that
change like a camera's: a slow sideways sway and per-frame sensor noise. OpenCV's own MPEG-4
encoder writes it (no ffmpeg binary); OBS plays it with a looping media source.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Distinct noise fields, cycled: a prime count, so frame and noise repeat together only rarely.
NOISE_FIELDS = 7
NOISE_LEVEL = 3  # grey levels, uniform in [-NOISE_LEVEL, NOISE_LEVEL]: a webcam in a lit room
SWAY_PX = 40


def write_camera_video(picture_bgr: np.ndarray, path: Path, seconds: float = 4.0, fps: int = 30) -> Path:
    """``picture_bgr`` (already at the video's size) swaying sideways, with noise, as an MPEG-4 file."""
    height, width = picture_bgr.shape[:2]
    rng = np.random.default_rng(0)
    level = NOISE_LEVEL
    noise = [rng.integers(-level, level + 1, picture_bgr.shape, dtype=np.int16) for _ in range(NOISE_FIELDS)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    try:
        for index in range(int(seconds * fps)):
            shift = round(SWAY_PX * np.sin(2 * np.pi * index / (seconds * fps)))
            frame = np.roll(picture_bgr, shift, axis=1).astype(np.int16) + noise[index % NOISE_FIELDS]
            writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path


def picture_covering(picture_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """``picture_bgr`` scaled to cover width x height and centre-cropped."""
    scale = max(width / picture_bgr.shape[1], height / picture_bgr.shape[0])
    size = (max(width, round(picture_bgr.shape[1] * scale)), max(height, round(picture_bgr.shape[0] * scale)))
    scaled = cv2.resize(picture_bgr, size, interpolation=cv2.INTER_CUBIC)
    top, left = (size[1] - height) // 2, (size[0] - width) // 2
    return scaled[top : top + height, left : left + width]
