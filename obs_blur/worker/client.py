"""The client side of the mask worker: starts, feeds, supervises and restarts one worker process.

Every method except :meth:`MaskWorkerClient.stop` returns at once: no waits, no blocking pipe
reads, no locks shared with the worker, because OBS's graphics thread calls them. The client is not
thread-safe: call it from one thread, and hand settings changes to that thread rather than calling
``configure`` elsewhere. Why a process at all, and how frames and masks change hands: docs/WORKER.md.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Optional

import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.worker.interpreter import find_embedded_python
from obs_blur.worker.process import WorkerProcess, kill
from obs_blur.worker.protocol import (
    Attached,
    Configure,
    Done,
    Error,
    Event,
    Frame,
    Ready,
    Stats,
    WorkerState,
    clock_ns,
    clock_s,
    first_line,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_CAPTURE = (512, 512)
DEFAULT_HANG_TIMEOUT_S = 3.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class Result:
    """One completed mask, copied out of shared memory (safe to keep)."""

    seq: int
    model: str
    coefficients: np.ndarray
    mask: np.ndarray
    submitted_ns: int
    started_ns: int
    finished_ns: int
    received_ns: int
    crop_share: float = 1.0  # the share of the frame the worker looks at next: below 1, a crop

    @property
    def mask_size(self) -> tuple[int, int]:
        return (self.mask.shape[1], self.mask.shape[0])

    @property
    def latency_ms(self) -> float:
        """Submit → copied out by the caller."""
        return (self.received_ns - self.submitted_ns) / 1e6


class MaskWorkerClient:
    """Runs the mask worker process and exchanges frames and masks with it without blocking."""

    def __init__(
        self,
        python_executable: Optional[str] = None,
        max_capture: tuple[int, int] = DEFAULT_MAX_CAPTURE,
        hang_timeout_s: float = DEFAULT_HANG_TIMEOUT_S,
        stderr_log: Optional[Path] = None,
    ) -> None:
        self.python_executable = python_executable
        self.max_capture = (int(max_capture[0]), int(max_capture[1]))
        self.hang_timeout_s = hang_timeout_s
        self.stderr_log = stderr_log
        self.state = WorkerState.STOPPED
        self.status = "stopped"
        self.fault = ""  # why it fails, without the retry delay: the same fault again is not news
        self.dropped_frames = 0
        self.restarts = 0
        self.provider = ""
        self.model: Optional[str] = None
        self.stats: dict[str, float] = {}
        self._worker: Optional[WorkerProcess] = None
        self._dying: list[subprocess.Popen[bytes]] = []  # killed, not yet reaped
        self._config: Optional[Configure] = None
        self._loaded_key: Optional[tuple[Optional[str], str, Optional[int]]] = None
        self._next_seq = 1
        self._outstanding: Optional[int] = None
        self._outstanding_since = 0.0
        self._announced: tuple[int, str] = (0, "")
        self._returned_seq = 0
        self._backoff_s = FIRST_BACKOFF_S
        self._restart_at: Optional[float] = None
        self._worker_failure = ""  # why the worker is about to exit, when it said so

    # -- public API -----------------------------------------------------------------------------

    @property
    def pid(self) -> Optional[int]:
        return self._worker.pid if self._worker else None

    @property
    def ready(self) -> bool:
        return self.state == WorkerState.READY

    @property
    def accepts_frames(self) -> bool:
        """Whether :meth:`submit` would take a frame now: lets the caller skip reading one back for nothing."""
        return self._frame_slot_free()

    @property
    def in_flight_s(self) -> Optional[float]:
        """Seconds since the frame the worker is computing was submitted; None when it computes none."""
        return None if self._outstanding is None else clock_s() - self._outstanding_since

    @property
    def last_submitted_seq(self) -> int:
        """Sequence number of the newest frame :meth:`submit` accepted (0 before the first); results carry it."""
        return self._next_seq - 1

    def start(self) -> None:
        """Start the worker process (a fork/exec: milliseconds, no waiting for it to come up)."""
        if self._worker is None:
            self._restart_at = None
            self._spawn()

    def configure(
        self,
        model: Optional[str],
        device: str = "auto",
        threads: Optional[int] = None,
        smoothing: Optional[float] = None,
        softness: Optional[float] = None,
    ) -> None:
        """Ask for a model and settings; the answer arrives later as a status (see :meth:`poll`).

        ``None`` means the default (see :class:`~obs_blur.worker.protocol.Configure`). Only a new
        model, device or thread count reloads the model.
        """
        config = Configure(
            (self._config.id if self._config else 0) + 1,
            model,
            device,
            threads,
            None if smoothing is None else float(smoothing),
            None if softness is None else float(softness),
        )
        self._config = config
        if self._worker is None:
            return
        self._send_configure()
        if config.model_key != self._loaded_key or self.state != WorkerState.READY:
            self._show_loading()

    def submit(self, frame_bgra: np.ndarray, video_size: Optional[tuple[int, int]] = None) -> bool:
        """Hand a capture-size BGRA frame of a ``video_size`` video to the worker; False (dropped) while it is busy.

        ``video_size`` (width, height) defaults to the capture's own: a capture stretched to the
        model's shape does not show the video's, which the crop around the person needs.
        """
        self._check_frame(frame_bgra)
        self._read_events()
        worker = self._worker
        if worker is None or worker.block is None or worker.channel is None or not self._frame_slot_free():
            self.dropped_frames += 1
            return False
        seq = self._next_seq
        worker.block.write_frame(seq, frame_bgra, clock_ns(), video_size)
        if not worker.channel.send(Frame(seq), droppable=True):
            self.dropped_frames += 1
            return False
        self._next_seq += 1
        self._outstanding, self._outstanding_since = seq, clock_s()
        return True

    def latest_result(self) -> Optional[Result]:
        """The newest completed mask not returned before, copied out; None if there is none."""
        self._read_events()
        seq, model = self._announced
        block = self._worker.block if self._worker else None
        if seq <= self._returned_seq or block is None:
            return None
        slot = block.read_result()
        if slot is None or slot.seq != seq:
            return None  # already overwritten by a newer result, whose `done` is on its way
        self._returned_seq = seq
        return Result(
            seq=seq,
            model=model,
            coefficients=slot.coefficients,
            mask=slot.mask,
            submitted_ns=slot.submitted_ns,
            started_ns=slot.started_ns,
            finished_ns=slot.finished_ns,
            received_ns=clock_ns(),
            crop_share=slot.crop_share,
        )

    def poll(self) -> None:
        """Read events, notice a dead or hung worker, and restart it when its back-off is over."""
        self._dying = [process for process in self._dying if process.poll() is None]
        worker = self._worker
        if worker is None:
            if self._restart_at is not None and clock_s() >= self._restart_at:
                self._spawn()
            return
        if worker.channel is not None:
            worker.channel.flush()
        self._read_events()
        exit_code = worker.exit_code()
        if exit_code is not None:
            self._read_events(everything=True)  # its last words, if any
            why = f": {self._worker_failure}" if self._worker_failure else ""
            self._lose_worker(f"worker crashed (exit code {exit_code}{why})")
        elif self._is_hung():
            self._lose_worker(f"worker stopped responding (no mask for {self.hang_timeout_s:g} s)")

    def request_stop(self) -> None:
        """Ask the worker to quit, without waiting: several workers then wind down at the same time.

        A worker needs about a quarter of a second to exit (its interpreter and onnxruntime tear
        down); ``stop`` afterwards only waits for what is left of that.
        """
        self._restart_at = None
        if self._worker is not None:
            self._worker.request_quit()

    def stop(self) -> None:
        """Quit the worker (kill it after 1 s), reap every child, and free the shared memory."""
        self._restart_at = None
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        for dying in self._dying:
            kill(dying)
            dying.wait()
        self._dying.clear()
        self.state, self.status = WorkerState.STOPPED, "stopped"

    def __enter__(self) -> MaskWorkerClient:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- process lifetime -----------------------------------------------------------------------

    def _spawn(self) -> None:
        """Start a worker; whatever fails on the way is undone, shown, and retried after the back-off.

        Any exception counts, not only the expected ones: one escaping from here would leave a
        running child and an open segment behind, and the caller (the filter's video_tick) would
        start the next worker on the next frame.
        """
        self._restart_at = None
        try:
            self._launch()
        except Exception as exc:
            self._undo_launch()
            reason = f"cannot start the mask worker: {exc if isinstance(exc, OSError) else first_line(exc)}"
            log.warning("%s", reason, exc_info=not isinstance(exc, (OSError, ObsBlurError)))
            self._schedule_restart(reason)

    def _launch(self) -> None:
        """Start a worker, kept on ``self`` before it starts (``_undo_launch`` finds its parts); configure it."""
        python = self.python_executable or find_embedded_python()
        self._worker = WorkerProcess(self.stderr_log)
        self._worker.start(python, self.max_capture)
        self._reset_exchange()
        log.info("mask worker %s started (%s)", self._worker.pid, python)
        if self._config is None:
            self.state, self.status = WorkerState.STARTING, "worker started; no model chosen yet"
        else:
            self._send_configure()
            self._show_loading()

    def _undo_launch(self) -> None:
        """Kill and reap a worker that never got going, close its pipes and free its segment."""
        worker, self._worker = self._worker, None
        unreaped = worker.abandon() if worker is not None else None
        if unreaped is not None:
            self._dying.append(unreaped)  # reaped by a later poll
        self._reset_exchange()

    def _reset_exchange(self) -> None:
        self._outstanding = None
        self._announced = (self._returned_seq, "")
        self._loaded_key = None
        self._worker_failure = ""
        self.stats = {}

    def _lose_worker(self, reason: str) -> None:
        """Kill what is left of the worker and schedule a fresh one after the back-off."""
        worker, self._worker = self._worker, None
        killed = worker.discard() if worker is not None else None
        if killed is not None:
            self._dying.append(killed)
        self._reset_exchange()
        self.restarts += 1
        log.warning("%s", reason)
        self._schedule_restart(reason)

    def _schedule_restart(self, reason: str) -> None:
        delay = self._backoff_s
        self._backoff_s = min(delay * 2, MAX_BACKOFF_S)
        self._restart_at = clock_s() + delay
        self.fault = reason
        self.state, self.status = WorkerState.RESTARTING, f"{reason}; restarting in {delay:g} s{self._log_hint()}"

    def _is_hung(self) -> bool:
        return (
            self.ready and self._outstanding is not None and clock_s() - self._outstanding_since > self.hang_timeout_s
        )

    # -- messages -------------------------------------------------------------------------------

    def _frame_slot_free(self) -> bool:
        """A model is loaded, no frame is in flight and no command waits for room in the pipe."""
        worker = self._worker
        return (
            worker is not None
            and worker.block is not None
            and self.ready
            and self._outstanding is None
            and not (worker.channel is not None and worker.channel.backlog)
        )

    def _send_configure(self) -> None:
        assert self._config is not None
        if self._worker is not None and self._worker.channel is not None:
            self._worker.channel.send(self._config, droppable=False)

    def _read_events(self, everything: bool = False) -> None:
        channel = self._worker.channel if self._worker else None
        if channel is None:
            return
        for event in channel.receive(everything):
            self._EVENT_HANDLERS[type(event)](self, event)

    def _on_attached(self, _event: Attached) -> None:
        """The segment's name goes at once: a crash of OBS then cannot leave it behind in /dev/shm."""
        if self._worker is not None and self._worker.block is not None:
            self._worker.block.unlink_name()

    def _on_ready(self, event: Ready) -> None:
        if self._config is None or event.id != self._config.id:
            return  # answers a configuration that has since been replaced
        self.state = WorkerState.READY
        self._loaded_key = self._config.model_key
        self.model = event.model
        self.provider = event.provider
        self._show_ready()

    def _on_error(self, event: Error) -> None:
        if event.during == "frame":
            self.status = f"mask error: {event.message}"
        elif event.during == "configure":
            if self._config is not None and event.id == self._config.id:
                self.state, self.status = WorkerState.ERROR, f"model error: {event.message}{self._log_hint()}"
                self.fault = self.status
                self._loaded_key = None
        else:
            self._worker_failure = event.message
        log.warning("mask worker: %s", event.message)

    def _on_done(self, event: Done) -> None:
        if event.seq == self._outstanding:
            self._outstanding = None
        if event.ok and event.seq > self._announced[0]:
            self._announced = (event.seq, event.model or "")
            self._backoff_s = FIRST_BACKOFF_S  # a mask came back: the worker is healthy again

    def _on_stats(self, event: Stats) -> None:
        self.stats = {"ms_per_mask": event.ms_per_mask, "masks_per_s": event.masks_per_s}
        if self.ready:
            self._show_ready()

    _EVENT_HANDLERS: ClassVar[dict[type[Event], Callable[[MaskWorkerClient, Event], None]]] = {
        Attached: _on_attached,  # type: ignore[dict-item]
        Ready: _on_ready,  # type: ignore[dict-item]
        Error: _on_error,  # type: ignore[dict-item]
        Done: _on_done,  # type: ignore[dict-item]
        Stats: _on_stats,  # type: ignore[dict-item]
    }

    # -- status ---------------------------------------------------------------------------------

    def _show_loading(self) -> None:
        assert self._config is not None
        self.state, self.status = WorkerState.LOADING, f"loading model {self._config.model or 'default'}…"

    def _show_ready(self) -> None:
        text = f"ready: {self.provider}"
        if self.stats:
            text += f", {self.stats['ms_per_mask']:.1f} ms per mask, {self.stats['masks_per_s']:.0f} masks/s"
        self.status = text

    def _log_hint(self) -> str:
        """Where the worker's own account of a fault is, when its stderr goes to a file."""
        return f"; worker log: {self.stderr_log}" if self.stderr_log is not None else ""

    def _check_frame(self, frame: np.ndarray) -> None:
        """A wrong frame is a programming error in the caller: say so at once."""
        if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
            raise ValueError(f"submit() takes a BGRA uint8 frame, got shape {frame.shape} {frame.dtype}")
        width, height = self.max_capture
        if not (0 < frame.shape[1] <= width and 0 < frame.shape[0] <= height):
            raise ValueError(f"frame of {frame.shape[1]}x{frame.shape[0]} exceeds max_capture {width}x{height}")
