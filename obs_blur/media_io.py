"""Reading and writing images and videos for the command line, never leaving half-written output.

Every output is written to a temporary file beside its destination and renamed into place only when
complete, so an error or Ctrl+C mid-way leaves either the old file or nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from obs_blur.errors import ObsBlurError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"}
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}
_FOURCC = {".avi": "MJPG", ".webm": "VP80"}


def kind_of(path: Path) -> str:
    """'image' or 'video' by file name, or a clear error for anything else."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    known = ", ".join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))
    raise ObsBlurError(f"{path}: unknown file type {suffix or '(none)'!r}; use one of {known}")


def read_image(path: Path) -> np.ndarray:
    """Image as uint8 BGR or BGRA (grey and 16-bit images are converted)."""
    if not path.is_file():
        raise ObsBlurError(f"{path}: no such file")
    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ObsBlurError(f"{path}: not a readable image")
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(np.iinfo(image.dtype).max), 1.0))
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path with the same suffix; on success rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by suffix and write atomically; refuses to drop an alpha channel silently."""
    if image.ndim == 3 and image.shape[2] == 4 and path.suffix.lower() not in ALPHA_SUFFIXES:
        raise ObsBlurError(f"{path}: {path.suffix} cannot store transparency; use .png")
    ok, encoded = cv2.imencode(path.suffix.lower(), image)
    if not ok:
        raise ObsBlurError(f"{path}: could not encode the image")
    with atomic_output(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


class VideoReader:
    """Frames of a video file as BGR uint8, with the frame count and rate when the file says."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ObsBlurError(f"{path}: no such file")
        self.path = path
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise ObsBlurError(f"{path}: not a readable video")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: Optional[int] = count if count > 0 else None

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = self._capture.read()
                if not ok:
                    return
                yield frame
        finally:
            self._capture.release()


class VideoWriter:
    """Writes BGR frames to a temporary file; ``commit`` renames it into place."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        fourcc = cv2.VideoWriter_fourcc(*_FOURCC.get(path.suffix.lower(), "mp4v"))
        self._context = atomic_output(path)
        self._tmp = self._context.__enter__()
        self._writer = cv2.VideoWriter(str(self._tmp), fourcc, fps, size)
        if not self._writer.isOpened():
            self._context.__exit__(None, None, None)
            raise ObsBlurError(f"{path}: cannot write this video format here")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(np.ascontiguousarray(frame[..., :3]))
        self.frames += 1

    def close(self, commit: bool) -> None:
        """Finish the file; ``commit=False`` (after an error) deletes it instead."""
        self._writer.release()
        if commit and self.frames:
            self._context.__exit__(None, None, None)
        else:
            self._context.__exit__(ObsBlurError, ObsBlurError("aborted"), None)
