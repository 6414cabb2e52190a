"""Capture-size frames from the GPU to the CPU without stalling the graphics thread.

``gs_stage_texture`` only queues a copy into a stage surface; ``gs_stagesurface_map`` then waits
until the GPU has executed everything up to that copy. Mapping the surface staged in the same frame
would wait for this frame's whole GPU work (on llvmpipe: for the software rasteriser to finish it),
so the ring maps only a surface staged on an earlier frame, whose copy has long completed. Three
surfaces leave one being written, one ready to read, and one spare for a frame on which nothing was
read because the mask worker was busy.

Runs on the graphics thread inside video_render; ``destroy`` inside obs_enter_graphics.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from obs_blur.obs import libobs

RING_SIZE = 3
BYTES_PER_PIXEL = 4  # GS_BGRA


@dataclass
class _Slot:
    surface: int
    frame_number: Optional[int] = None  # the frame staged here; None when empty or already read
    video_size: tuple[int, int] = (0, 0)  # the size of the video frame it was captured from


class StagedCapture(NamedTuple):
    """A capture read back: its video frame number, its BGRA pixels, and the video's (width, height)."""

    frame_number: int
    pixels: np.ndarray
    video_size: tuple[int, int]


class StagingRing:
    """Three BGRA stage surfaces of one capture size, written in turn, read one frame late."""

    def __init__(self) -> None:
        self._slots: list[_Slot] = []
        self._size = (0, 0)
        self._next = 0
        self._frame: Optional[np.ndarray] = None

    def stage(self, texture: int, size: tuple[int, int], frame_number: int, video_size: tuple[int, int]) -> None:
        """Queue the copy of ``texture`` (a GS_BGRA texture of ``size``) of a ``video_size`` frame ``frame_number``."""
        self._ensure(size)
        slot = self._slots[self._next]
        libobs.gs_stage_texture(slot.surface, texture)
        slot.frame_number, slot.video_size = frame_number, video_size
        self._next = (self._next + 1) % RING_SIZE

    def read_newest_before(self, frame_number: int) -> Optional[StagedCapture]:
        """The newest frame staged before ``frame_number`` and not read yet.

        Older unread frames are dropped on the way: the worker wants the newest picture. The array is
        reused by the next call; hand it on (``MaskWorkerClient.submit`` copies it) before then.
        """
        waiting = [slot for slot in self._slots if slot.frame_number is not None and slot.frame_number < frame_number]
        if not waiting:
            return None
        newest = max(waiting, key=lambda slot: slot.frame_number or 0)
        staged_as = newest.frame_number
        for slot in waiting:
            slot.frame_number = None
        assert staged_as is not None
        if self._frame is None:
            return None
        return StagedCapture(staged_as, self._copy_out(newest.surface), newest.video_size)

    def _copy_out(self, surface: int) -> np.ndarray:
        """Map ``surface``, copy its rows (each ``linesize`` bytes apart) into the reused array, unmap."""
        frame = self._frame
        assert frame is not None
        height, width = frame.shape[:2]
        data, linesize = ctypes.c_void_p(), ctypes.c_uint32()
        if not libobs.gs_stagesurface_map(surface, ctypes.byref(data), ctypes.byref(linesize)):
            raise RuntimeError("gs_stagesurface_map failed")
        try:
            stride, row_bytes = linesize.value, width * BYTES_PER_PIXEL
            if not data.value or stride < row_bytes:
                raise RuntimeError(f"stage surface mapped with linesize {stride} < {row_bytes}")
            buffer = (ctypes.c_uint8 * (stride * (height - 1) + row_bytes)).from_address(data.value)
            rows = np.ndarray((height, width, BYTES_PER_PIXEL), np.uint8, buffer, strides=(stride, 4, 1))
            np.copyto(frame, rows)
        finally:
            libobs.gs_stagesurface_unmap(surface)
        return frame

    def _ensure(self, size: tuple[int, int]) -> None:
        if size == self._size:
            return
        self.destroy()
        width, height = size
        for _ in range(RING_SIZE):
            surface = libobs.gs_stagesurface_create(width, height, libobs.GS_BGRA)
            if not surface:
                self.destroy()
                raise RuntimeError(f"cannot create a {width}x{height} stage surface")
            self._slots.append(_Slot(surface))
        self._size = size
        self._frame = np.empty((height, width, BYTES_PER_PIXEL), np.uint8)

    def destroy(self) -> None:
        for slot in self._slots:
            libobs.gs_stagesurface_destroy(slot.surface)
        self._slots, self._size, self._next, self._frame = [], (0, 0), 0, None
