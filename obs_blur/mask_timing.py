"""How long the graphics thread may wait for a mask that is about to arrive: plain arithmetic.

The filter sends the worker the previous frame's capture at the start of a frame (video_tick) and
draws late in the same frame. When the worker's usual latency says the mask will arrive within a few
milliseconds, waiting for it draws the frame with a mask one frame old instead of two. The wait is
bounded three ways: never more than ``MAX_MASK_WAIT_S``, never more than the frame's spare time
(what the filter's own rendering leaves of ``HEADROOM_SHARE`` of the frame interval), and not at all
when the mask is not expected within that bound (a worker that falls behind costs OBS nothing).
Standard library only: the OBS layer imports it.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Optional

#: The longest wait for a mask on the graphics thread.
MAX_MASK_WAIT_S = 0.006
#: The share of the frame interval the filter's rendering plus its wait may take.
HEADROOM_SHARE = 0.5
#: Worker latencies remembered for the expectation (about half a second at 30 fps).
LATENCY_MEMORY = 15


def mask_wait_budget_s(frame_interval_s: float, render_s: float, in_flight_s: float, typical_latency_s: float) -> float:
    """Seconds to wait for the mask in flight: 0, or the bound when it is expected within the bound.

    ``render_s`` is the filter's own rendering time per frame (without waits), ``in_flight_s`` how
    long ago the frame went to the worker, ``typical_latency_s`` the worker's usual submit-to-done time.
    """
    budget = min(MAX_MASK_WAIT_S, frame_interval_s * HEADROOM_SHARE - render_s)
    if budget <= 0.0 or typical_latency_s - in_flight_s > budget:
        return 0.0
    return budget


class WorkerLatency:
    """The worker's recent submit-to-done latencies; their median is the expectation."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque(maxlen=LATENCY_MEMORY)

    def add(self, seconds: float) -> None:
        self._recent.append(seconds)

    def clear(self) -> None:
        self._recent.clear()

    @property
    def typical_s(self) -> Optional[float]:
        """None until a mask arrived (then nothing is known, and nothing is waited for)."""
        return statistics.median(self._recent) if self._recent else None
