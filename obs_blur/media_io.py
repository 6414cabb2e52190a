"""Reading and writing images for the command line, and the rule every output follows.

Every output is written to a temporary file beside its destination and renamed into place only when
complete and flushed to disk, so an error, a full disk or Ctrl+C mid-way leaves either the old file
or nothing. The temporary file is created the way any new file is (mode 0666 filtered by the umask,
and by a default ACL where the folder has one), so the renamed output has the permissions the user
expects of a new file rather than a private 0600. Videos are read and written by ``video_io``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from obs_blur.errors import ObsBlurError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"}
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}
_TEMP_ATTEMPTS = 100


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
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as exc:
        raise ObsBlurError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ObsBlurError(f"{path}: not a readable image")
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(np.iinfo(image.dtype).max), 1.0))
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


def create_temp(path: Path) -> Path:
    """A new empty file beside ``path`` named ``.<stem>.<random><suffix>``, for ``commit_temp`` later.

    Created with ``O_EXCL`` and mode 0666 so that the kernel applies the umask (and any default ACL)
    exactly as for a plain new file; the suffix stays last so tools that look at it still can.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(_TEMP_ATTEMPTS):
            tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{path.suffix}")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            os.close(fd)
            return tmp
    except OSError as exc:
        raise ObsBlurError(f"{path}: cannot write there ({exc.strerror or exc})") from None
    raise ObsBlurError(f"{path}: cannot create a temporary file beside it")


def commit_temp(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk, then rename it over ``path`` in one step."""
    try:
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        raise ObsBlurError(f"{path}: cannot write it ({exc.strerror or exc})") from None


def discard_temp(tmp: Path) -> None:
    """Remove a temporary file that will not become an output (already gone is fine)."""
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path with the same suffix; on success it replaces ``path``, else it is removed."""
    tmp = create_temp(path)
    try:
        try:
            yield tmp
        except OSError as exc:
            raise ObsBlurError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        commit_temp(tmp, path)
    finally:
        discard_temp(tmp)


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by suffix and write atomically; refuses to drop an alpha channel silently."""
    if image.ndim == 3 and image.shape[2] == 4 and path.suffix.lower() not in ALPHA_SUFFIXES:
        raise ObsBlurError(f"{path}: {path.suffix} cannot store transparency; use .png")
    ok, encoded = cv2.imencode(path.suffix.lower(), image)
    if not ok:
        raise ObsBlurError(f"{path}: could not encode the image")
    with atomic_output(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
