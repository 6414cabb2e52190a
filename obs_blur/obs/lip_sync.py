"""Keeping an audio source in step with the aligned video ("Delay the video to match the mask").

With the alignment on, the filter shows each mask with the frame it was computed from, so the video
runs a few frames behind the microphone. ``VideoDelay`` measures by how much; the dialog shows it,
and its button adds that delay to the sync offset of the audio source the user picked. Turning the
alignment off takes it back. What was added, and to which source, is kept in the filter's own
settings, so it is taken back correctly even after OBS restarted in between.

Everything that touches settings or offsets runs on OBS's UI thread (the button, the dialog, and the
task ``update`` queues), where OBS's own dialogs write them: ``obs_data`` has no lock.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

from obs_blur.obs import libobs
from obs_blur.obs.data import ObsData, stored_settings
from obs_blur.obs.filter_settings import ALIGN_VIDEO

#: The audio source the user picked ("" for none): the dialog's list.
AUDIO_SOURCE = "lipsync_audio"
#: The dialog's button that applies the delay.
APPLY_BUTTON = "lipsync_apply"
#: The dialog's read-only row that shows the video delay (written as the dialog opens).
VIDEO_DELAY = "video_delay"
#: What the button added, and to which source; taken back when the alignment goes off.
APPLIED_TO = "lipsync_applied_to"
APPLIED_MS = "lipsync_applied_ms"
#: Renders over which the delay is measured: about 3 s at 30 fps, so one late mask does not move it.
DELAY_WINDOW = 90
NS_PER_MS = 1_000_000


class VideoDelay:
    """How many frames the shown video runs behind the newest frame: the median of recent renders.

    The graphics thread adds a figure per render; the UI thread (the dialog, the button) reads it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: deque[int] = deque(maxlen=DELAY_WINDOW)

    def add(self, frames: Optional[int]) -> None:
        if frames is not None:
            with self._lock:
                self._frames.append(frames)

    def clear(self) -> None:
        """The alignment went off: the next figure starts afresh."""
        with self._lock:
            self._frames.clear()

    def frames(self) -> Optional[int]:
        with self._lock:
            recent = list(self._frames)
        return round(statistics.median(recent)) if recent else None

    def milliseconds(self) -> Optional[int]:
        """The delay in milliseconds at OBS's frame rate, or None before the first aligned frame."""
        frames = self.frames()
        reads_interval = libobs.obs_get_frame_interval_ns is not None and libobs.obs_initialized()
        interval = libobs.obs_get_frame_interval_ns() if reads_interval else 0
        if frames is None or not interval:
            return None
        return round(frames * interval / NS_PER_MS)


def describe(align_video: bool, delay_ms: Optional[int]) -> str:
    """The dialog's "Video delay" row, as of the dialog's opening.

    The row shows only while the alignment is on, but the text was written when the dialog opened:
    right after ticking the box it still says the figure is not there yet.
    """
    if not align_video or delay_ms is None:
        return "not measured yet: reopen the properties once the mask is in use"
    return f"{delay_ms} ms"


def audio_source_names() -> list[str]:
    """Names of the sources that have audio, for the dialog's list (UI thread); none before OBS started."""
    if libobs.obs_enum_sources is None or not libobs.obs_initialized():
        return []
    names: list[str] = []

    def visit(_param: Optional[int], source: Optional[int]) -> bool:
        if source and libobs.obs_source_get_output_flags(source) & libobs.OBS_SOURCE_AUDIO:
            name = libobs.source_name(source)
            if name:
                names.append(name)
        return True

    callback = libobs.EnumSourcesCallback(visit)  # alive until obs_enum_sources returns
    libobs.obs_enum_sources(callback, None)
    return sorted(names, key=str.casefold)


def apply_delay(filter_source: int, delay_ms: Optional[int]) -> str:
    """The button: add the video delay to the picked audio source's sync offset; returns what to tell the user.

    What an earlier click added (to this source or another) is taken back first, so clicking again
    after the delay changed, or after picking another source, never adds twice.
    """
    if not _offsets_available():
        return "this OBS cannot set an audio sync offset from a script"
    with stored_settings(filter_source) as data:
        if data is None:
            return "the filter has no settings"
        picked = data.get_string(AUDIO_SOURCE)
        if not data.get_stored(ALIGN_VIDEO):
            return "turn on 'Delay the video to match the mask' first"
        if not picked:
            return "pick the audio to delay first"
        if delay_ms is None:
            return "the video delay is not measured yet: try again once the mask is in use"
        _take_back(data)
        with _source_named(picked) as audio:
            if not audio:
                return f"there is no source named '{picked}'"
            _add_offset(audio, delay_ms)
        data.set_string(APPLIED_TO, picked)
        data.set_int(APPLIED_MS, delay_ms)
    return f"'{picked}' delayed by {delay_ms} ms to match the video"


def take_back_if_alignment_off(filter_source: int) -> Optional[str]:
    """UI task after ``update``: with the alignment off, remove what the button added; returns the log line."""
    if not _offsets_available():
        return None
    with stored_settings(filter_source) as data:
        if data is None or data.get_stored(ALIGN_VIDEO):
            return None
        return _take_back(data)


def needs_take_back(settings: ObsData, align_video: bool) -> bool:
    """Whether ``update`` should queue ``take_back_if_alignment_off`` (it only reads ``settings``)."""
    return not align_video and bool(settings.get_stored(APPLIED_MS))


def _take_back(data: ObsData) -> Optional[str]:
    """Remove the stored addition from its source's offset and forget it; returns what was done."""
    applied_ms, applied_to = int(data.get_stored(APPLIED_MS) or 0), data.get_string(APPLIED_TO)
    if not applied_ms:
        return None
    with _source_named(applied_to) as audio:
        if audio:
            _add_offset(audio, -applied_ms)
    data.set_int(APPLIED_MS, 0)
    data.set_string(APPLIED_TO, "")
    return f"took back the {applied_ms} ms added to the sync offset of '{applied_to}'"


def _add_offset(audio: int, milliseconds: int) -> None:
    offset = libobs.obs_source_get_sync_offset(audio)
    libobs.obs_source_set_sync_offset(audio, offset + milliseconds * NS_PER_MS)


def _offsets_available() -> bool:
    needed = (libobs.obs_get_source_by_name, libobs.obs_source_get_sync_offset, libobs.obs_source_set_sync_offset)
    return all(function is not None for function in needed) and libobs.obs_initialized()


@contextmanager
def _source_named(name: str) -> Iterator[Optional[int]]:
    """A reference to the source called ``name`` (None if there is none), released afterwards."""
    source = libobs.obs_get_source_by_name(name.encode()) if name else None
    try:
        yield source or None
    finally:
        if source:
            libobs.obs_source_release(source)
