"""The worker process's own code: answers the client's commands with masks, one frame at a time.

It runs outside OBS so that model loading and per-frame Python work never stall OBS's graphics
thread (docs/WORKER.md). Errors are reported as events, never fatal: after one the worker keeps
serving and answers the next ``Configure``. It exits when stdin closes (the client quit or died),
so it is never left behind as an orphan. Started as ``python -m obs_blur.mask_worker``.
"""

from __future__ import annotations

import logging
import os
import queue
import statistics
import sys
import threading
from dataclasses import replace
from typing import IO, Any, Callable, Optional

import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.worker.log_file import set_up_logging
from obs_blur.worker.protocol import (
    Attached,
    Command,
    Configure,
    Done,
    Error,
    Event,
    Frame,
    MalformedLine,
    Quit,
    Ready,
    Stats,
    UnknownCommand,
    clock_ns,
    clock_s,
    decode_command,
    encode,
    first_line,
    parse_worker_arguments,
)
from obs_blur.worker.shared_block import ResultSlot, SharedBlock

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 1.0


class ParentGone(Exception):
    """stdout is closed: nobody listens any more, so the worker ends."""


class EventStream:
    """Event lines on the real stdout, which nothing else may write to."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.on_sent: Callable[[], None] = lambda: None

    @classmethod
    def take_over_stdout(cls) -> EventStream:
        """Keep a private handle on stdout, then send fd 1 and ``sys.stdout`` to stderr.

        So even native libraries that print cannot corrupt the event stream.
        """
        sys.stdout.flush()
        events_fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(events_fd)

    def send(self, event: Event) -> None:
        data = encode(event)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except (BrokenPipeError, OSError) as exc:
            raise ParentGone(str(exc)) from None
        self.on_sent()


def read_commands(stream: IO[bytes], inbox: queue.Queue[Optional[Command]]) -> None:
    """Reader thread: stdin lines → commands; None (the end) when stdin closes."""
    try:
        for line in stream:
            try:
                inbox.put(decode_command(line))
            except MalformedLine:
                log.warning("ignoring a line that is not a command: %r", line[:200])
    except (OSError, ValueError) as exc:
        log.warning("stdin failed: %s", exc)
    finally:
        inbox.put(None)


def next_batch(inbox: queue.Queue[Optional[Command]]) -> list[Optional[Command]]:
    """Wait for one command, then take everything else already waiting."""
    batch = [inbox.get()]
    while True:
        try:
            batch.append(inbox.get_nowait())
        except queue.Empty:
            return batch


def without_superseded_configures(batch: list[Optional[Command]]) -> list[Optional[Command]]:
    """Only the newest ``Configure`` of a batch is worth a model load (settings dragged quickly)."""
    configures = [i for i, command in enumerate(batch) if isinstance(command, Configure)]
    skipped = set(configures[:-1])
    return [command for i, command in enumerate(batch) if i not in skipped]


class MaskWorker:
    """Holds the loaded pipeline and answers commands one at a time."""

    def __init__(self, block: SharedBlock, events: EventStream) -> None:
        self.block = block
        self.events = events
        self.pipeline: Any = None  # MaskPipeline, imported lazily: importing onnxruntime takes a while
        self.model_key: Optional[tuple[Any, ...]] = None
        self.config_id: Optional[int] = None  # the configure the loaded model answers
        self.provider = ""  # as last announced in a ready event
        self.masks = 0
        self._window_start = clock_s()
        self._window_ms: list[float] = []

    def serve(self, inbox: queue.Queue[Optional[Command]]) -> None:
        """Answer commands until ``Quit`` or the end of stdin."""
        while True:
            for command in without_superseded_configures(next_batch(inbox)):
                if command is None or isinstance(command, Quit):
                    return
                self.handle(command)

    def handle(self, command: Command) -> None:
        if isinstance(command, Frame):
            self.process_frame(command.seq)
        elif isinstance(command, Configure):
            self.configure(command)
        else:
            name = command.name if isinstance(command, UnknownCommand) else command.NAME
            self.events.send(Error(during="command", message=f"unknown command {name!r}"))

    # -- configure ------------------------------------------------------------------------------

    def configure(self, command: Configure) -> None:
        """Load (or keep) the model, apply smoothing and softness; answer ``Ready`` or ``Error``."""
        key = command.model_key
        started = clock_s()
        try:
            reloaded = self.pipeline is None or key != self.model_key
            if reloaded:
                self._load(key)
                self._warm_up()
            self._apply_settings(command.smoothing, command.softness)
        except Exception as exc:  # reported to the parent, never fatal
            self.pipeline, self.model_key = None, None
            log.warning("configure %s failed: %s", key, exc)
            self.events.send(Error(during="configure", message=first_line(exc), id=command.id))
            return
        load_ms = (clock_s() - started) * 1000
        self._window_start, self._window_ms = clock_s(), []
        self.config_id, self.provider = command.id, self.pipeline.segmenter.session.describe()
        log.info("ready: %s on %s in %.0f ms", self.pipeline.model_name, self.provider, load_ms)
        self.events.send(Ready(command.id, self.pipeline.model_name, self.provider, load_ms, reloaded))

    def _announce_provider_change(self) -> None:
        """A GPU that failed while running was replaced by the CPU (see Segmenter): tell the parent."""
        provider = self.pipeline.segmenter.session.describe()
        if provider == self.provider or self.config_id is None:
            return
        self.provider = provider
        log.warning("now on %s", provider)
        self.events.send(Ready(self.config_id, self.pipeline.model_name, provider, 0.0, reloaded=False))

    def _load(self, key: tuple[Any, ...]) -> None:
        from obs_blur.pipeline import MaskPipeline

        self.pipeline, self.model_key = None, None  # free the old session before building the new one
        model, device, threads = key
        self.pipeline = MaskPipeline.load(model, device=device, threads=threads or None)
        self.model_key = key

    def _warm_up(self) -> None:
        """Run one mask now: a GPU provider's first inference can take seconds (kernel selection,
        engine build), which would otherwise look like a hung worker on the first real frame."""
        width, height = self.pipeline.segmenter.capture_size(1280, 720)
        self.pipeline.capture_coefficients(np.zeros((height, width, 4), np.uint8))
        self.pipeline.reset()

    def _apply_settings(self, smoothing: Optional[float], softness: Optional[float]) -> None:
        """Smoothing and softness change without a reload and without forgetting the mask history."""
        from obs_blur.pipeline import DEFAULT_SMOOTHING
        from obs_blur.refine import DEFAULT_REFINE

        strength = DEFAULT_SMOOTHING if smoothing is None else smoothing
        self.pipeline.set_smoothing(strength)
        softness = DEFAULT_REFINE.softness if softness is None else softness
        self.pipeline.refine = replace(self.pipeline.refine, softness=softness)

    # -- frames ---------------------------------------------------------------------------------

    def process_frame(self, seq: int) -> None:
        """Compute the mask of frame ``seq``; always answer ``Done`` so the parent may send the next."""
        started_ns = clock_ns()
        slot = self.block.read_frame()
        if self.pipeline is None or slot is None or slot.seq != seq:
            reason = "no model loaded" if self.pipeline is None else "frame slot changed while reading"
            self.events.send(Done(seq, ok=False, reason=reason))
            return
        try:
            # A frame sized for the previous model (sent just before a switch) is resized the way the
            # model's own pipeline does (``Segmenter.capture``); at capture size it is used as it is.
            coefficients, mask = self.pipeline.capture_coefficients(slot.frame, slot.video_size)
            if not self.block.fits(mask.shape[1], mask.shape[0]):
                width, height = self.block.max_size
                raise ObsBlurError(f"a {mask.shape[1]}x{mask.shape[0]} mask exceeds max_capture {width}x{height}")
        except Exception as exc:  # one bad frame must not end the worker
            log.warning("frame %d failed: %s", seq, exc)
            self._announce_provider_change()
            self.events.send(Error(during="frame", message=first_line(exc)))
            self.events.send(Done(seq, ok=False, reason="mask failed"))
            return
        self._announce_provider_change()
        self._publish(slot.seq, slot.submitted_ns, started_ns, coefficients, mask)
        self._look_around()

    def _look_around(self) -> None:
        """Work after the mask has gone out (``MaskPipeline.look_around``): it never delays a mask."""
        try:
            self.pipeline.look_around()
        except Exception as exc:  # the crop then stays as it is; the next frame's mask is unaffected
            log.warning("look around failed: %s", exc)

    def _publish(self, seq: int, submitted_ns: int, started_ns: int, coefficients: Any, mask: Any) -> None:
        finished_ns = clock_ns()
        crop_share = self.pipeline.crop_share
        self.block.write_result(ResultSlot(seq, coefficients, mask, submitted_ns, started_ns, finished_ns, crop_share))
        compute_ms = (finished_ns - started_ns) / 1e6
        self.events.send(Done(seq, ok=True, model=self.pipeline.model_name, compute_ms=compute_ms))
        self._count(compute_ms)

    def _count(self, compute_ms: float) -> None:
        self.masks += 1
        self._window_ms.append(compute_ms)
        now = clock_s()
        elapsed = now - self._window_start
        if elapsed < STATS_INTERVAL_S:
            return
        self.events.send(Stats(statistics.median(self._window_ms), len(self._window_ms) / elapsed, self.masks))
        self._window_start, self._window_ms = now, []


def stop_preempting_the_parent() -> None:
    """Linux: never take the CPU from OBS's graphics thread when a ``frame`` line wakes us.

    A pipe write is a synchronous wake-up, so Linux tends to run the woken reader at once on the
    writer's CPU: the parent's ``submit`` then absorbs our whole mask computation (measured: median
    submit 2 ms instead of 0.1 ms on two cores). ``SCHED_BATCH`` keeps our fair share of the CPU and
    gives up only wake-up preemption. Set before onnxruntime starts its threads, which inherit it.
    """
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError as exc:
            log.info("could not switch to SCHED_BATCH: %s", exc)


def main(argv: Optional[list[str]] = None) -> int:
    """The worker process: attach to the client's segment, say so, then serve until stdin closes."""
    args = parse_worker_arguments(argv)
    set_up_logging(args.log_limit)
    events = EventStream.take_over_stdout()
    stop_preempting_the_parent()
    try:
        block = SharedBlock.attach(args.shm)
    except (OSError, ObsBlurError) as exc:
        events.send(Error(during="attach", message=first_line(exc)))
        return 2
    events.on_sent = block.count_event
    inbox: queue.Queue[Optional[Command]] = queue.Queue()
    threading.Thread(target=read_commands, args=(sys.stdin.buffer, inbox), name="stdin", daemon=True).start()
    try:
        events.send(Attached(os.getpid()))
        MaskWorker(block, events).serve(inbox)
    except ParentGone:
        log.info("the parent stopped listening; exiting")
    finally:
        block.close()
    return 0
