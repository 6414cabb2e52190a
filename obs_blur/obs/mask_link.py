"""One filter's mask worker process, as OBS's threads use it: frames out, coefficients in, one status.

Inference never runs inside OBS: each filter instance owns a ``MaskWorkerClient`` (a child process
per instance, see ``obs_blur/worker/``). The client is not thread-safe, and libobs calls us from
several threads: video_tick and video_render on the graphics thread, video_render also on the
obs-websocket thread (screenshots), destroy on the UI or the destroy thread, script_unload on the
UI thread. libobs's graphics lock serialises the renders, but video_tick runs outside it. So
every use of the client holds ``_lock``; the graphics thread only ever *tries* the lock and skips
its turn when someone else holds it (a ``stop`` may take a second), so rendering never waits for it.
The one wait on the graphics thread is ``take``'s: a few milliseconds at most, for a mask the
worker's usual latency says is about to arrive (``obs_blur/mask_timing.py``); it sleeps, so the GIL
is free meanwhile, and the filter reports it (``mask_wait_ms`` in the stats file).

A still picture is segmented until its mask settles and then not again until it changes
(``obs_blur/still_picture.py``): new settings and a new worker process start that over.

Faults (no model, onnxruntime missing, a crashed worker) are the client's to detect and to recover
from (restart with back-off); this class turns each change between healthy and failing into one
line in the OBS log, never one per frame. A client whose start raises all the same is stopped and
started again only after the same kind of back-off, never once per frame.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from obs_blur import paths, platforms
from obs_blur.mask_timing import WorkerLatency
from obs_blur.model_choice import person_share
from obs_blur.obs import libobs
from obs_blur.obs import status as status_text
from obs_blur.obs.filter_settings import FilterSettings
from obs_blur.obs.frame_readback import StagedCapture
from obs_blur.still_picture import StillPictureGate
from obs_blur.worker.client import FIRST_BACKOFF_S, MAX_BACKOFF_S, MaskWorkerClient, Result
from obs_blur.worker.protocol import WorkerState, clock_s, first_line

# The worker package logs through `logging` (loggers under "obs_blur.worker"); inside OBS nothing
# would show it except stderr. Our own log lines (below) say the same once, in the OBS log. Once per
# process: "Reload Scripts" re-runs this module, and a handler per reload would pile up on the
# process-wide logger.
_worker_logger = logging.getLogger("obs_blur.worker")
if not any(isinstance(handler, logging.NullHandler) for handler in _worker_logger.handlers):
    _worker_logger.addHandler(logging.NullHandler())

#: How often a bounded wait for a mask looks for it (a sleep: the GIL is free meanwhile).
_WAIT_STEP_S = 0.0005
#: Submitted frames remembered for matching results to video frames; results arrive within a few.
_SEQ_MEMORY = 64


def worker_log_for_obs(system: Optional[str] = None) -> Optional[Path]:
    """Where the worker's stderr goes inside OBS: a log file where OBS's own stderr reaches nobody.

    obs64.exe is a GUI program without a console, and OBS.app started from the Finder or the Dock
    has its stderr on /dev/null, so onnxruntime's messages (DirectML, CoreML) and worker tracebacks
    would be lost there: they go to ``paths.worker_log_file()``. On Linux OBS prints its own log
    lines to its stderr too (a terminal, or the desktop session's journal), so the worker keeps
    that stderr (None).
    """
    platform = platforms.named(system) if system else paths.current_platform()
    return None if platform.stderr_is_read else paths.worker_log_file()


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker needs from the filter's settings; a change is sent with ``configure``."""

    model: Optional[str]
    device: str
    smoothing: float  # 0..1
    softness: float  # 0..1

    @classmethod
    def from_filter(cls, settings: FilterSettings) -> WorkerSettings:
        return cls(settings.model or None, settings.device, settings.smoothing / 100.0, settings.edge_softness / 100.0)


@dataclass(frozen=True)
class Mask:
    """A result matched to the video frame it was computed from."""

    frame_number: int
    coefficients: np.ndarray  # (h, w, 4) float32 on the refinement's fit grid (half the mask's)
    probability: np.ndarray  # (h, w) float32 on the mask's grid (the model's input size): the smoothed mask
    model: str
    latency_ms: float
    person_share: float  # of the frame (``model_choice.person_share``), for the ``auto`` model
    crop_share: float = 1.0  # the share of the frame the worker looks at next; below 1 it wants detail


@dataclass(frozen=True)
class WorkerReport:
    """What the status line and the stats file show about the worker."""

    healthy: bool
    state: WorkerState
    status: str
    provider: str
    model: str
    ms_per_mask: Optional[float]
    masks_per_s: float


class MaskLink:
    """Starts, configures, feeds, polls and stops one filter's worker."""

    def __init__(self, filter_name: Callable[[], str]) -> None:
        self._filter_name = filter_name
        self._lock = threading.Lock()
        self._client: Optional[MaskWorkerClient] = None
        self._sent: Optional[WorkerSettings] = None
        self._frame_of_seq: dict[int, int] = {}
        self._suspended = False
        self._failing = False
        self._logged_fault = ""  # the fault last logged, until a mask shows the worker healthy again
        self._announced_ready = False
        self._announced_provider = ""
        self._start_problem = ""  # why the last start raised, with its retry delay; "" once one succeeds
        self._start_retry_at = 0.0
        self._start_backoff_s = FIRST_BACKOFF_S
        self._still = StillPictureGate()
        self._restarts_seen = 0
        self._latency = WorkerLatency()
        self.waited_s = 0.0  # how long the last ``take`` waited for a mask

    # -- graphics thread -----------------------------------------------------------------------

    def tick(self, settings: FilterSettings) -> None:
        """Once per video_tick after the first frame: start lazily, apply settings, poll, report changes."""
        with self._try_lock() as locked:
            if not locked or self._suspended:
                return
            client = self._client or self._start()
            if client is None:
                return
            wanted = WorkerSettings.from_filter(settings)
            if wanted != self._sent:
                client.configure(wanted.model, wanted.device, None, wanted.smoothing, wanted.softness)
                self._sent = wanted
                self._still.reset()  # the same picture gets a different mask now
                self._announced_ready = False
                self._logged_fault = ""  # the user changed something: a fault now is news
            client.poll()
            self._log_changes(client)

    def offer(self, read_frame: Callable[[], Optional[StagedCapture]]) -> Optional[int]:
        """Hand the worker the newest capture if it is free (``read_frame`` is only called then).

        ``read_frame`` returns the staged capture (its frame number, pixels and video size) or None. Returns that
        frame number when the capture was not sent because the picture has not changed since its
        mask settled (``StillPictureGate``): the mask in use holds for that frame too. None otherwise.
        """
        with self._try_lock() as locked:
            client = self._client
            if not locked or client is None or self._suspended or not client.accepts_frames:
                return None
            frame = read_frame()
            if frame is None:
                return None
            frame_number, pixels, video_size = frame
            if client.restarts != self._restarts_seen:  # a new worker process: let it prove itself on the picture
                self._restarts_seen = client.restarts
                self._still.reset()
            if self._still.unchanged(pixels):
                return frame_number
            if client.submit(pixels, video_size):
                self._remember(client.last_submitted_seq, frame_number)
                self._still.segmenting(pixels, client.last_submitted_seq)
            return None

    def take(self, wait_budget: Callable[[float, float], float]) -> Optional[Mask]:
        """The newest mask not taken before, matched to its video frame; None if there is none.

        When none has arrived but one is in flight, ``wait_budget(in_flight_s, typical_latency_s)``
        says how long to wait for it (``mask_timing.mask_wait_budget_s``); ``waited_s`` says how long
        this call waited.
        """
        self.waited_s = 0.0
        with self._try_lock() as locked:
            client = self._client
            if not locked or client is None or self._suspended:
                return None
            result = client.latest_result() or self._wait_for_result(client, wait_budget)
            if result is None:
                return None
            self._logged_fault = ""  # a mask: the next fault is news again, even the same one
            self._latency.add((result.finished_ns - result.submitted_ns) / 1e9)
            self._still.mask_arrived(result.seq, result.coefficients)
            frame_number = self._frame_of_seq.get(result.seq)
            if frame_number is None:
                return None  # a frame from before a restart or a forgotten one: cannot be placed in time
            share, crop = person_share(result.mask), result.crop_share
            return Mask(frame_number, result.coefficients, result.mask, result.model, result.latency_ms, share, crop)

    @property
    def still_picture(self) -> bool:
        """The capture has not changed since its mask settled: the worker idles until it does."""
        return self._still.settled

    @property
    def ready(self) -> bool:
        """The worker has a model loaded: worth capturing frames for it."""
        client = self._client
        return client is not None and client.ready and not self._suspended

    def report(self) -> WorkerReport:
        """A snapshot for the status line (reads plain attributes only: safe without the lock)."""
        client = self._client
        if self._start_problem and client is None and not self._suspended:
            return WorkerReport(False, WorkerState.RESTARTING, self._start_problem, "", "", None, 0.0)
        if self._suspended or client is None:
            status = status_text.WORKER_STOPPED if self._suspended else status_text.WORKER_NOT_STARTED
            return WorkerReport(not self._suspended, WorkerState.STOPPED, status, "", "", None, 0.0)
        stats, state = dict(client.stats), WorkerState(client.state)
        return WorkerReport(
            healthy=not state.failing,
            state=state,
            status=client.status,
            provider=client.provider,
            model=client.model or (self._sent.model if self._sent else "") or "",
            ms_per_mask=stats.get("ms_per_mask"),
            masks_per_s=float(stats.get("masks_per_s", 0.0)),
        )

    # -- any thread ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the worker for good (filter destroyed): waits up to a second for it to quit."""
        with self._lock:
            self._suspended = True
            self._stop_client()

    def request_stop(self) -> None:
        """Ask the worker to quit without waiting; ``suspend`` or ``stop`` then waits (script_unload asks all first)."""
        with self._lock:
            self._suspended = True
            if self._client is not None:
                self._client.request_stop()

    def suspend(self) -> None:
        """Stop the worker until ``resume`` (script unloaded: no new processes while OBS shuts down)."""
        self.stop()

    def resume(self) -> None:
        """Allow the worker again (script loaded again); it restarts on the next tick."""
        with self._lock:
            self._suspended = False

    # -- internals -----------------------------------------------------------------------------

    def _wait_for_result(
        self, client: MaskWorkerClient, wait_budget: Callable[[float, float], float]
    ) -> Optional[Result]:
        """Wait (sleeping, GIL released) up to the budget for the mask in flight; None when it does not come."""
        in_flight_s, typical_s = client.in_flight_s, self._latency.typical_s
        if in_flight_s is None or typical_s is None:
            return None
        budget_s = wait_budget(in_flight_s, typical_s)
        if budget_s <= 0.0:
            return None
        started = time.perf_counter()
        deadline = started + budget_s
        result = None
        while result is None and time.perf_counter() < deadline and client.in_flight_s is not None:
            time.sleep(_WAIT_STEP_S)
            result = client.latest_result()
        self.waited_s = time.perf_counter() - started
        return result

    @contextlib.contextmanager
    def _try_lock(self) -> Iterator[bool]:
        locked = self._lock.acquire(blocking=False)
        try:
            yield locked
        finally:
            if locked:
                self._lock.release()

    def _start(self) -> Optional[MaskWorkerClient]:
        """A started client, or None while a start that raised waits out its back-off."""
        if self._start_problem and clock_s() < self._start_retry_at:
            return None
        client = None
        try:
            client = MaskWorkerClient(stderr_log=worker_log_for_obs())
            client.start()  # a failure to start is a status with a scheduled retry, never an exception
        except Exception as exc:  # a bug all the same: undone, and retried after a back-off, not next frame
            self._hold_back_start(status_text.cannot_start_worker(first_line(exc)))
            if client is not None:
                client.stop()  # kills and reaps what it started and frees its shared memory
            return None
        self._start_problem, self._start_backoff_s = "", FIRST_BACKOFF_S
        self._client, self._sent, self._frame_of_seq = client, None, {}
        self._still.reset()
        self._restarts_seen = client.restarts
        self._latency.clear()
        if client.pid:
            libobs.log(libobs.LOG_INFO, f"filter '{self._filter_name()}': mask worker {client.pid} started")
        return client

    def _hold_back_start(self, problem: str) -> None:
        """No new client until the back-off is over; one log line per distinct problem."""
        delay = self._start_backoff_s
        self._start_backoff_s = min(delay * 2, MAX_BACKOFF_S)
        self._start_retry_at = clock_s() + delay
        self._start_problem = status_text.retrying(problem, delay)
        if problem != self._logged_fault:
            libobs.log(libobs.LOG_WARNING, status_text.passes_through_log(self._filter_name(), self._start_problem))
            self._logged_fault = problem

    def _stop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            pid, started = client.pid, time.perf_counter()
            client.stop()
            if pid:
                waited_s = time.perf_counter() - started
                name = self._filter_name()
                libobs.log(libobs.LOG_INFO, f"filter '{name}': mask worker {pid} stopped in {waited_s:.3f} s")
        self._sent, self._failing, self._announced_ready = None, False, False
        self._logged_fault = ""
        self._start_problem, self._start_backoff_s = "", FIRST_BACKOFF_S

    def _remember(self, seq: int, frame_number: int) -> None:
        self._frame_of_seq[seq] = frame_number
        if len(self._frame_of_seq) > _SEQ_MEMORY:
            for old in sorted(self._frame_of_seq)[: len(self._frame_of_seq) - _SEQ_MEMORY]:
                del self._frame_of_seq[old]

    def _log_changes(self, client: MaskWorkerClient) -> None:
        """One log line when the worker starts failing, one when it is ready again; nothing per frame.

        A worker that fails the same way again before it delivered a mask (a crash loop, retried with
        a growing back-off) is not logged again: the status shows every retry, the log stays short.
        A new provider (a GPU that failed while running, replaced by the CPU) is logged once.
        """
        failing = WorkerState(client.state).failing
        name = self._filter_name()
        if failing and not self._failing and client.fault != self._logged_fault:
            libobs.log(libobs.LOG_WARNING, status_text.passes_through_log(name, client.status))
            self._logged_fault = client.fault
            self._announced_ready = False  # say so again when it recovers
        elif client.ready and (not self._announced_ready or client.provider != self._announced_provider):
            libobs.log(libobs.LOG_INFO, f"filter '{name}': model {client.model} ready on {client.provider}")
            self._announced_ready, self._announced_provider = True, client.provider
        self._failing = failing
