"""The shared-memory segment the client and the worker exchange pixels through, one per worker process.

Layout (native byte order, all offsets 64-byte aligned; ``W``, ``H`` = ``max_capture``)::

    offset 0    header: 32 x int64
                  [0] magic 0x4F42534C55524D31 ("OBSLURM1")   [1] layout version (3)
                  [2] max width W                             [3] max height H
                  frame slot (parent writes, worker reads):
                  [4] frame lock (seqlock: odd while being written)
                  [5] frame sequence number   [6] width   [7] height   [8] submitted ns
                  result slot (worker writes, parent reads):
                  [9] result lock (seqlock)
                  [10] frame sequence number it belongs to   [11] width   [12] height
                  [13] submitted ns   [14] worker started ns   [15] worker finished ns
                  [16] events sent (worker: +1 after each stdout line)
                  [17] the video's width   [18] the video's height (frame slot: a capture does not
                       show the video's shape, which the crop around the person needs)
                  [19] result slot: the share of the frame the worker looks at next, in millionths
                       (1000000: the whole frame; less: a crop around the person, which wants the
                       capture's extra detail)
                  [20] result slot: the coefficients' width   [21] their height (the refinement fits
                       them on a coarser grid than the mask's: ``refine.RefineSettings.subsample``)
                  [22..31] reserved (0)
    offset 256  frame: BGRA uint8, rows packed (width * 4 bytes each), room for W x H
    then        coefficients: float32 (grid height, grid width, 4) packed ([20], [21]), room for W x H x 4
                (``edge_band.COEFFICIENT_CHANNELS``: a for red, green, blue, then b)
    then        mask: float32 (height, width) packed, room for W x H

Each slot is a seqlock, so a half-written frame or result is never used; who may write a slot when
is settled by the messages (docs/WORKER.md, "Handing over a slot"). Timestamps are on
``protocol.clock_ns``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Callable, Iterator, Optional, TypeVar

import numpy as np

from obs_blur.edge_band import COEFFICIENT_CHANNELS
from obs_blur.errors import ObsBlurError

MAGIC = 0x4F42534C55524D31
LAYOUT_VERSION = 3
HEADER_BYTES = 256

# Header fields (indices into the int64 header).
_MAGIC, _VERSION, _MAX_WIDTH, _MAX_HEIGHT = 0, 1, 2, 3
_FRAME_LOCK, _FRAME_SEQ, _FRAME_WIDTH, _FRAME_HEIGHT, _FRAME_SUBMITTED = 4, 5, 6, 7, 8
_RESULT_LOCK, _RESULT_SEQ, _RESULT_WIDTH, _RESULT_HEIGHT = 9, 10, 11, 12
_RESULT_SUBMITTED, _RESULT_STARTED, _RESULT_FINISHED = 13, 14, 15
_EVENTS_SENT = 16
_VIDEO_WIDTH, _VIDEO_HEIGHT = 17, 18
_RESULT_CROP_SHARE = 19
_COEFFICIENT_WIDTH, _COEFFICIENT_HEIGHT = 20, 21
_MILLIONTHS = 1_000_000

T = TypeVar("T")


def _align(offset: int, alignment: int = 64) -> int:
    return (offset + alignment - 1) // alignment * alignment


@contextlib.contextmanager
def _untracked() -> Iterator[None]:
    """Keep ``SharedMemory`` away from multiprocessing's resource tracker (Python < 3.13).

    The tracker would start a helper process with ``sys.executable`` (inside OBS that is not the
    embedded interpreter, and on Windows may be OBS itself), and in the worker it would unlink the
    parent's segment when the worker exits. We own the segment's lifetime explicitly instead.
    """
    register, unregister = resource_tracker.register, resource_tracker.unregister
    resource_tracker.register = resource_tracker.unregister = lambda *_args, **_kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        resource_tracker.register, resource_tracker.unregister = register, unregister  # type: ignore[assignment]


def _open_shared_memory(name: Optional[str], size: int = 0) -> SharedMemory:
    create = name is None
    name = name or f"obsblur_{os.getpid()}_{secrets.token_hex(4)}"
    if sys.version_info >= (3, 13):
        return SharedMemory(name=name, create=create, size=size, track=False)  # type: ignore[call-arg]
    with _untracked():
        return SharedMemory(name=name, create=create, size=size)


@dataclass(frozen=True)
class FrameSlot:
    """A frame copied out of shared memory by the worker."""

    seq: int
    frame: np.ndarray
    submitted_ns: int
    video_size: tuple[int, int]  # (width, height) of the video the capture was taken from


@dataclass(frozen=True)
class ResultSlot:
    """A result copied out of shared memory by the parent."""

    seq: int
    coefficients: np.ndarray
    mask: np.ndarray
    submitted_ns: int
    started_ns: int
    finished_ns: int
    crop_share: float = 1.0  # the share of the frame the worker looks at next (``MaskPipeline.crop_share``)


class SharedBlock:
    """The segment laid out as documented at the top of this module; either side of the exchange."""

    def __init__(self, memory: SharedMemory, owner: bool) -> None:
        self._memory = memory
        self._owner = owner
        self._linked = owner
        self._header = np.ndarray((HEADER_BYTES // 8,), np.int64, buffer=memory.buf)
        width, height = int(self._header[_MAX_WIDTH]), int(self._header[_MAX_HEIGHT])
        pixels = width * height
        coefficients_at = _align(HEADER_BYTES + pixels * 4)
        mask_at = _align(coefficients_at + pixels * 4 * COEFFICIENT_CHANNELS)
        self.max_size = (width, height)
        self._frame = np.ndarray((pixels * 4,), np.uint8, buffer=memory.buf, offset=HEADER_BYTES)
        coefficient_count = pixels * COEFFICIENT_CHANNELS
        self._coefficients = np.ndarray((coefficient_count,), np.float32, buffer=memory.buf, offset=coefficients_at)
        self._mask = np.ndarray((pixels,), np.float32, buffer=memory.buf, offset=mask_at)

    @staticmethod
    def bytes_needed(max_size: tuple[int, int]) -> int:
        pixels = max_size[0] * max_size[1]
        return _align(_align(_align(HEADER_BYTES + pixels * 4) + pixels * 4 * COEFFICIENT_CHANNELS) + pixels * 4)

    @classmethod
    def create(cls, max_size: tuple[int, int]) -> SharedBlock:
        """A new segment with a fresh header (parent side)."""
        memory = _open_shared_memory(None, cls.bytes_needed(max_size))
        header = np.ndarray((HEADER_BYTES // 8,), np.int64, buffer=memory.buf)
        header[:] = 0
        header[_MAGIC], header[_VERSION] = MAGIC, LAYOUT_VERSION
        header[_MAX_WIDTH], header[_MAX_HEIGHT] = max_size
        del header
        return cls(memory, owner=True)

    @classmethod
    def attach(cls, name: str) -> SharedBlock:
        """Open the parent's segment (worker side), refusing one with another layout."""
        memory = _open_shared_memory(name)
        header = np.ndarray((4,), np.int64, buffer=memory.buf)
        magic, version = int(header[_MAGIC]), int(header[_VERSION])
        del header
        if magic != MAGIC or version != LAYOUT_VERSION:
            memory.close()
            raise ObsBlurError(f"shared memory {name} has layout {magic:#x} v{version}, expected v{LAYOUT_VERSION}")
        return cls(memory, owner=False)

    @property
    def name(self) -> str:
        return self._memory.name

    def fits(self, width: int, height: int) -> bool:
        return 0 < width <= self.max_size[0] and 0 < height <= self.max_size[1]

    def _coefficient_grid(self, width: int, height: int) -> np.ndarray:
        """The coefficient area as a (height, width, channels) view of the first rows."""
        return self._coefficients[: height * width * COEFFICIENT_CHANNELS].reshape(height, width, COEFFICIENT_CHANNELS)

    # -- seqlock helpers ------------------------------------------------------------------------

    def _begin_write(self, lock: int) -> int:
        value = int(self._header[lock]) | 1
        self._header[lock] = value
        return value

    def _end_write(self, lock: int, value: int) -> None:
        self._header[lock] = value + 1

    def _read_consistent(self, lock: int, read: Callable[[], T]) -> Optional[T]:
        before = int(self._header[lock])
        if before & 1:
            return None
        value = read()
        return value if int(self._header[lock]) == before else None

    # -- frame slot (parent → worker) -----------------------------------------------------------

    def write_frame(
        self, seq: int, frame: np.ndarray, submitted_ns: int, video_size: Optional[tuple[int, int]] = None
    ) -> None:
        """Frame ``seq``: a capture of a video of ``video_size`` (the capture's own size when omitted)."""
        height, width = frame.shape[:2]
        video_width, video_height = video_size or (width, height)
        lock = self._begin_write(_FRAME_LOCK)
        header = self._header
        header[_FRAME_SEQ], header[_FRAME_WIDTH], header[_FRAME_HEIGHT] = seq, width, height
        header[_FRAME_SUBMITTED] = submitted_ns
        header[_VIDEO_WIDTH], header[_VIDEO_HEIGHT] = video_width, video_height
        np.copyto(self._frame[: height * width * 4].reshape(height, width, 4), frame)
        self._end_write(_FRAME_LOCK, lock)

    def read_frame(self) -> Optional[FrameSlot]:
        return self._read_consistent(_FRAME_LOCK, self._copy_frame)

    def _copy_frame(self) -> Optional[FrameSlot]:
        header = self._header
        width, height = int(header[_FRAME_WIDTH]), int(header[_FRAME_HEIGHT])
        if not self.fits(width, height):
            return None
        frame = self._frame[: height * width * 4].reshape(height, width, 4).copy()
        video_size = (int(header[_VIDEO_WIDTH]), int(header[_VIDEO_HEIGHT]))
        return FrameSlot(int(header[_FRAME_SEQ]), frame, int(header[_FRAME_SUBMITTED]), video_size)

    # -- result slot (worker → parent) ----------------------------------------------------------

    def write_result(self, slot: ResultSlot) -> None:
        height, width = slot.mask.shape
        lock = self._begin_write(_RESULT_LOCK)
        header = self._header
        header[_RESULT_SEQ], header[_RESULT_WIDTH], header[_RESULT_HEIGHT] = slot.seq, width, height
        header[_RESULT_SUBMITTED] = slot.submitted_ns
        header[_RESULT_STARTED], header[_RESULT_FINISHED] = slot.started_ns, slot.finished_ns
        header[_RESULT_CROP_SHARE] = round(slot.crop_share * _MILLIONTHS)
        grid_height, grid_width = slot.coefficients.shape[:2]
        header[_COEFFICIENT_WIDTH], header[_COEFFICIENT_HEIGHT] = grid_width, grid_height
        np.copyto(self._coefficient_grid(grid_width, grid_height), slot.coefficients)
        np.copyto(self._mask[: height * width].reshape(height, width), slot.mask)
        self._end_write(_RESULT_LOCK, lock)

    def read_result(self) -> Optional[ResultSlot]:
        return self._read_consistent(_RESULT_LOCK, self._copy_result)

    def _copy_result(self) -> Optional[ResultSlot]:
        header = self._header
        width, height = int(header[_RESULT_WIDTH]), int(header[_RESULT_HEIGHT])
        grid_width, grid_height = int(header[_COEFFICIENT_WIDTH]), int(header[_COEFFICIENT_HEIGHT])
        if not self.fits(width, height) or not self.fits(grid_width, grid_height):
            return None
        return ResultSlot(
            seq=int(header[_RESULT_SEQ]),
            coefficients=self._coefficient_grid(grid_width, grid_height).copy(),
            mask=self._mask[: height * width].reshape(height, width).copy(),
            submitted_ns=int(header[_RESULT_SUBMITTED]),
            started_ns=int(header[_RESULT_STARTED]),
            finished_ns=int(header[_RESULT_FINISHED]),
            crop_share=int(header[_RESULT_CROP_SHARE]) / _MILLIONTHS,
        )

    # -- events hint (worker → parent) ----------------------------------------------------------

    def count_event(self) -> None:
        """Worker, after each event line: tells the parent its pipe has something to read."""
        self._header[_EVENTS_SENT] += 1

    def events_sent(self) -> int:
        return int(self._header[_EVENTS_SENT])

    # -- lifetime -------------------------------------------------------------------------------

    def unlink_name(self) -> None:
        """Remove the segment's name (owner only); both mappings stay valid until closed."""
        if self._owner and self._linked:
            self._linked = False
            with _untracked(), contextlib.suppress(FileNotFoundError):
                self._memory.unlink()

    def close(self) -> None:
        """Drop the numpy views (they pin the buffer) and unmap; the owner also unlinks."""
        self._header = self._frame = self._coefficients = self._mask = None  # type: ignore[assignment]
        self._memory.close()
        self.unlink_name()
