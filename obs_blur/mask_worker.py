"""The mask worker: a child process that turns capture-size frames into refinement coefficients.

    python -m obs_blur.mask_worker --shm NAME [--log-limit BYTES]

``--log-limit``: stderr is a log file (the parent's choice where nobody reads OBS's stderr); stop
adding log lines once it holds that many bytes.

It runs outside OBS so that model loading (onnxruntime holds the GIL while it builds a session,
minutes for a TensorRT engine) and per-frame Python work can never stall OBS's graphics thread. The
parent (``obs_blur.worker_client``) owns the shared-memory segment ``NAME``, whose layout is
documented there.

Protocol: JSON lines. Commands on stdin::

    {"cmd": "configure", "id": 3, "model": "mediapipe-landscape", "device": "auto", "threads": 1,
     "smoothing": 0.8, "softness": null}    # null (model, threads, settings): the default
    {"cmd": "frame", "seq": 42}          # the frame slot holds frame 42: compute its mask
    {"cmd": "quit"}

A ``configure`` that changes only smoothing or softness keeps the loaded model and the mask history.

Events on stdout (nothing else is ever written there: fd 1 is pointed at stderr, so even native
libraries that print cannot corrupt the stream)::

    {"event": "attached", "pid": 1234}
    {"event": "ready", "id": 3, "model": "...", "provider": "CPU (...)", "load_ms": 52.0, "reloaded": true}
    {"event": "error", "id": 3, "during": "configure", "message": "unknown model 'x': choose one of ..."}
    {"event": "done", "seq": 42, "ok": true, "model": "...", "compute_ms": 2.1}
    {"event": "stats", "ms_per_mask": 2.1, "masks_per_s": 29.8, "masks": 1234}

Every ``frame`` is answered by exactly one ``done`` (``ok`` false when there was nothing to compute),
so the parent always learns that the frame slot is free again. Errors are reported, never fatal:
after one the worker keeps serving and answers the next ``configure``. It exits when stdin closes
(the parent quit or died), so it is never left behind as an orphan.
``ready`` comes again (``reloaded`` false) when a GPU failed while running and the model moved to
the CPU, so the parent shows the provider that really runs.
"""

from __future__ import annotations

import argparse
import json
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
from obs_blur.worker_client import ResultSlot, SharedBlock, clock_ns, clock_s, first_line

log = logging.getLogger("obs_blur.mask_worker")

STATS_INTERVAL_S = 1.0
Command = Optional[dict[str, Any]]  # None: stdin closed


class ParentGone(Exception):
    """stdout is closed: nobody listens any more, so the worker ends."""


class EventStream:
    """JSON-line events on the real stdout, which nothing else may write to."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.on_sent: Callable[[], None] = lambda: None

    @classmethod
    def take_over_stdout(cls) -> EventStream:
        """Keep a private handle on stdout, then send fd 1 and ``sys.stdout`` to stderr."""
        sys.stdout.flush()
        events_fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(events_fd)

    def send(self, event: str, **fields: Any) -> None:
        data = json.dumps({"event": event, **fields}).encode() + b"\n"
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except (BrokenPipeError, OSError) as exc:
            raise ParentGone(str(exc)) from None
        self.on_sent()


class LimitedLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to stderr, a file, until the file holds ``limit`` bytes; then says so once and drops the rest.

    The parent sets a large log aside when it starts a worker, but a worker that fails on every
    frame would add a line 30 times a second for as long as it runs. The file's size counts, not
    what this process wrote, so several workers sharing the file stop together.
    """

    def __init__(self, limit: int, stream: Optional[IO[str]] = None) -> None:
        super().__init__(sys.stderr if stream is None else stream)
        self.limit = limit
        self.full = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.full:
            return
        if self._file_size() >= self.limit:
            self.full = True
            message = f"the log file reached {self.limit} bytes: this worker adds no more lines"
            record = logging.makeLogRecord({"msg": message, "levelno": logging.WARNING, "levelname": "WARNING"})
        super().emit(record)

    def _file_size(self) -> int:
        try:
            return os.fstat(self.stream.fileno()).st_size
        except (OSError, ValueError):  # not a file after all: nothing to limit
            return 0


def set_up_logging(log_limit: int) -> None:
    """Log lines go to stderr: OBS's own where it has one, else a file limited to ``log_limit`` bytes."""
    if log_limit <= 0:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="obs-blur worker %(process)d: %(message)s")
        return
    handler = LimitedLogHandler(log_limit)
    handler.setFormatter(logging.Formatter("%(asctime)s obs-blur worker %(process)d: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def read_commands(stream: Any, inbox: queue.Queue[Command]) -> None:
    """Reader thread: stdin lines → parsed commands; None when stdin closes."""
    try:
        for line in stream:
            try:
                command = json.loads(line)
            except ValueError:
                log.warning("ignoring a line that is not JSON: %r", line[:200])
                continue
            if isinstance(command, dict):
                inbox.put(command)
    except (OSError, ValueError) as exc:
        log.warning("stdin failed: %s", exc)
    finally:
        inbox.put(None)


def next_batch(inbox: queue.Queue[Command]) -> list[Command]:
    """Wait for one command, then take everything else already waiting."""
    batch = [inbox.get()]
    while True:
        try:
            batch.append(inbox.get_nowait())
        except queue.Empty:
            return batch


def without_superseded_configures(batch: list[Command]) -> list[Command]:
    """Only the newest ``configure`` of a batch is worth a model load (settings dragged quickly)."""
    configures = [i for i, command in enumerate(batch) if command and command.get("cmd") == "configure"]
    skipped = set(configures[:-1])
    return [command for i, command in enumerate(batch) if i not in skipped]


class MaskWorker:
    """Holds the loaded pipeline and answers commands one at a time."""

    def __init__(self, block: SharedBlock, events: EventStream) -> None:
        self.block = block
        self.events = events
        self.pipeline: Any = None  # MaskPipeline, imported lazily: importing onnxruntime takes a while
        self.model_key: Optional[tuple[Any, ...]] = None
        self.config_id: Any = None  # the configure the loaded model answers
        self.provider = ""  # as last announced in a ready event
        self.masks = 0
        self._window_start = clock_s()
        self._window_ms: list[float] = []

    def serve(self, inbox: queue.Queue[Command]) -> None:
        """Answer commands until ``quit`` or the end of stdin."""
        while True:
            for command in without_superseded_configures(next_batch(inbox)):
                if command is None or command.get("cmd") == "quit":
                    return
                self.handle(command)

    def handle(self, command: dict[str, Any]) -> None:
        name = command.get("cmd")
        if name == "frame":
            self.process_frame(int(command.get("seq", 0)))
        elif name == "configure":
            self.configure(command)
        else:
            self.events.send("error", during="command", message=f"unknown command {name!r}")

    # -- configure ------------------------------------------------------------------------------

    def configure(self, command: dict[str, Any]) -> None:
        """Load (or keep) the model, apply smoothing and softness; answer ``ready`` or ``error``."""
        config_id = command.get("id")
        key = (command.get("model"), command.get("device", "auto"), command.get("threads"))
        started = clock_s()
        try:
            reloaded = self.pipeline is None or key != self.model_key
            if reloaded:
                self._load(key)
                self._warm_up()
            self._apply_settings(command.get("smoothing"), command.get("softness"))
        except Exception as exc:  # reported to the parent, never fatal
            self.pipeline, self.model_key = None, None
            log.warning("configure %s failed: %s", key, exc)
            self.events.send("error", id=config_id, during="configure", message=first_line(exc))
            return
        load_ms = (clock_s() - started) * 1000
        self._window_start, self._window_ms = clock_s(), []
        self.config_id, self.provider = config_id, self.pipeline.segmenter.session.describe()
        log.info("ready: %s on %s in %.0f ms", self.pipeline.model_name, self.provider, load_ms)
        self.events.send(
            "ready",
            id=config_id,
            model=self.pipeline.model_name,
            provider=self.provider,
            load_ms=load_ms,
            reloaded=reloaded,
        )

    def _announce_provider_change(self) -> None:
        """A GPU that failed while running was replaced by the CPU (see Segmenter): tell the parent."""
        provider = self.pipeline.segmenter.session.describe()
        if provider == self.provider:
            return
        self.provider = provider
        log.warning("now on %s", provider)
        model = self.pipeline.model_name
        self.events.send("ready", id=self.config_id, model=model, provider=provider, load_ms=0.0, reloaded=False)

    def _load(self, key: tuple[Any, ...]) -> None:
        from obs_blur.pipeline import MaskPipeline

        self.pipeline, self.model_key = None, None  # free the old session before building the new one
        model, device, threads = key
        self.pipeline = MaskPipeline.load(model, device=device, threads=threads or None)
        self.model_key = key

    def _warm_up(self) -> None:
        """Run one mask now: a GPU provider's first inference can take seconds (kernel selection,
        engine build), which would otherwise look like a hung worker on the first real frame."""
        from obs_blur.segmenters import capture_size_for

        width, height = capture_size_for(self.pipeline.segmenter.spec, 1280, 720)
        self.pipeline.capture_coefficients(np.zeros((height, width, 4), np.uint8))
        self.pipeline.reset()

    def _apply_settings(self, smoothing: Optional[float], softness: Optional[float]) -> None:
        """Smoothing and softness change without a reload and without forgetting the mask history."""
        from obs_blur.pipeline import DEFAULT_SMOOTHING
        from obs_blur.refine import DEFAULT_REFINE

        strength = DEFAULT_SMOOTHING if smoothing is None else float(smoothing)
        self.pipeline.smoother.strength = min(max(strength, 0.0), 1.0)
        softness = DEFAULT_REFINE.softness if softness is None else float(softness)
        self.pipeline.refine = replace(self.pipeline.refine, softness=softness)

    # -- frames ---------------------------------------------------------------------------------

    def process_frame(self, seq: int) -> None:
        """Compute the mask of frame ``seq``; always answer ``done`` so the parent may send the next."""
        started_ns = clock_ns()
        slot = self.block.read_frame()
        if self.pipeline is None or slot is None or slot.seq != seq:
            reason = "no model loaded" if self.pipeline is None else "frame slot changed while reading"
            self.events.send("done", seq=seq, ok=False, reason=reason)
            return
        try:
            # A frame sized for the previous model (sent just before a switch) is resized the way the
            # model's own pipeline does; at capture size this is the frame itself, at no cost.
            small = self.pipeline.segmenter.capture(slot.frame)
            coefficients, mask = self.pipeline.capture_coefficients(small)
            if not self.block.fits(mask.shape[1], mask.shape[0]):
                width, height = self.block.max_size
                raise ObsBlurError(f"a {mask.shape[1]}x{mask.shape[0]} mask exceeds max_capture {width}x{height}")
        except Exception as exc:  # one bad frame must not end the worker
            log.warning("frame %d failed: %s", seq, exc)
            self._announce_provider_change()
            self.events.send("error", during="frame", message=first_line(exc))
            self.events.send("done", seq=seq, ok=False, reason="mask failed")
            return
        self._announce_provider_change()
        self._publish(slot.seq, slot.submitted_ns, started_ns, coefficients, mask)

    def _publish(self, seq: int, submitted_ns: int, started_ns: int, coefficients: Any, mask: Any) -> None:
        finished_ns = clock_ns()
        self.block.write_result(ResultSlot(seq, coefficients, mask, submitted_ns, started_ns, finished_ns))
        compute_ms = (finished_ns - started_ns) / 1e6
        self.events.send("done", seq=seq, ok=True, model=self.pipeline.model_name, compute_ms=compute_ms)
        self._count(compute_ms)

    def _count(self, compute_ms: float) -> None:
        self.masks += 1
        self._window_ms.append(compute_ms)
        now = clock_s()
        elapsed = now - self._window_start
        if elapsed < STATS_INTERVAL_S:
            return
        self.events.send(
            "stats",
            ms_per_mask=statistics.median(self._window_ms),
            masks_per_s=len(self._window_ms) / elapsed,
            masks=self.masks,
        )
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


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m obs_blur.mask_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--shm", required=True, help="name of the shared-memory segment the parent created")
    parser.add_argument(
        "--log-limit", type=int, default=0, help="stderr is a log file: add no lines once it holds this many bytes"
    )
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    set_up_logging(args.log_limit)
    events = EventStream.take_over_stdout()
    stop_preempting_the_parent()
    try:
        block = SharedBlock.attach(args.shm)
    except (OSError, ObsBlurError) as exc:
        events.send("error", during="attach", message=first_line(exc))
        return 2
    events.on_sent = block.count_event
    inbox: queue.Queue[Command] = queue.Queue()
    threading.Thread(target=read_commands, args=(sys.stdin.buffer, inbox), name="stdin", daemon=True).start()
    try:
        events.send("attached", pid=os.getpid())
        MaskWorker(block, events).serve(inbox)
    except ParentGone:
        log.info("the parent stopped listening; exiting")
    finally:
        block.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
