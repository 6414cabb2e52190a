"""The stats file for benchmarks: what every Background Blur filter did since the last write.

Contract (other tools read it): when the environment variable ``OBS_BLUR_STATS`` names a file, the
script rewrites it about every 0.5 s from a ``timer_add`` callback, atomically (a temporary file in
the same folder, then a rename), as::

    {"time": <unix seconds>,
     "filters": {"<filter name>": {
         "render_ms": [video_render durations in ms since the last write (time.perf_counter around
                       the whole callback; the newest MAX_KEPT_RENDER_TIMES)],
         "mask_wait_ms": [of each of those, the ms it waited for a mask about to arrive (mask_timing)],
         "still_picture": <true while the picture has not changed since its mask settled: no segmenting>,
         "mask_age_frames": <int or null>, "masks_per_s": <float>, "mask_ms": <float or null>,
         "provider": "<str>", "model": "<str>",
         "model_choice": <why the auto model runs that model, null for a model chosen by name>,
         "mask_crop_share": <the share of the frame the model looks at: 1 the whole frame, less a crop
                             around the person; null before the filter's first frame>, "status": "<str>",
         "frames": <video_render calls so far>, "passthrough_frames": <of those, drawn unchanged>,
         "source": "<the filtered source's name>", "mask_latency_frames": <int or null>,
         "video_delay_ms": <how late the aligned video runs, null while not aligned or not measured>}}}

Filter names are unique per source only: when two filters share a name, the later ones are keyed
``"<filter name> @ <source name>"``.
Nothing is written when the variable is unset.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Optional

STATS_ENVIRONMENT_VARIABLE = "OBS_BLUR_STATS"
WRITE_INTERVAL_MS = 500
#: Render times kept until the next write takes them (at 30 fps a write takes about 15). Without a
#: stats file nobody takes them: the oldest go, or they would grow by one per frame while OBS runs.
MAX_KEPT_RENDER_TIMES = 1000


def stats_path() -> Optional[Path]:
    """The file to write, or None when benchmarks did not ask for one."""
    value = os.environ.get(STATS_ENVIRONMENT_VARIABLE)
    return Path(value) if value else None


class RenderStats:
    """Per-filter counters, fed by video_render (graphics or websocket thread) and drained by the timer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._render_ms: deque[float] = deque(maxlen=MAX_KEPT_RENDER_TIMES)
        self._wait_ms: deque[float] = deque(maxlen=MAX_KEPT_RENDER_TIMES)
        self.frames = 0
        self.passthrough_frames = 0

    def add(self, milliseconds: float, passed_through: bool, waited_ms: float = 0.0) -> None:
        with self._lock:
            self._render_ms.append(milliseconds)
            self._wait_ms.append(waited_ms)
            self.frames += 1
            self.passthrough_frames += passed_through

    def take(self) -> tuple[list[float], list[float]]:
        """(render durations, waits for a mask within them) recorded since the previous call, the
        newest ``MAX_KEPT_RENDER_TIMES`` of each."""
        with self._lock:
            taken = list(self._render_ms), list(self._wait_ms)
            self._render_ms.clear()
            self._wait_ms.clear()
        return taken


def unique_key(name: str, source: str, taken: dict[str, Any]) -> str:
    """``name``, or ``"name @ source"`` when another filter already uses the name."""
    if name not in taken:
        return name
    key = f"{name} @ {source}"
    suffix = 2
    while key in taken:
        key, suffix = f"{name} @ {source} ({suffix})", suffix + 1
    return key


def collect(instances: list[Any]) -> dict[str, Any]:
    """The file's content from the live filter instances (each has ``stats_entry()``)."""
    filters: dict[str, Any] = {}
    for instance in instances:
        entry_of = getattr(instance, "stats_entry", None)
        if entry_of is None:
            continue  # an instance from an older code version without stats
        name, entry = entry_of()
        filters[unique_key(name, str(entry.get("source", "")), filters)] = entry
    return {"time": time.time(), "filters": filters}


def write_atomically(path: Path, content: dict[str, Any]) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, path)
