#!/usr/bin/env python3
"""What the mask worker costs OBS's graphics thread: the worker process against an in-process thread.

    python tools/bench_worker.py [--seconds 3] [--fps 30] [--model mediapipe-landscape] [--device cpu]

A render loop at ``--fps`` hands a real photo (scikit-image's astronaut, at the model's capture size,
BGRA) to a mask worker and measures, on the calling thread:

* **client µs**: ``submit() + latest_result() + poll()``, the filter's per-frame cost (median/p99/max);
* **render ms**: a stand-in for the filter's render callback (the filter's render path): ``--render-calls``
  ctypes calls into libc, which release and re-acquire the GIL like the filter's ``gs_*`` calls, one of
  them a ``--readback-us`` wait like the GPU read-back, plus the three client calls;
* **latency ms**: submit → mask available to the caller (median; the loop looks every 0.5 ms);
* **masks/s** delivered;
* **switch ms**: the longest render while the worker loads ``--switch-to`` (measured over
  ``--switch-seconds`` after asking for it). onnxruntime holds the GIL while it creates a session, so
  an in-process worker stalls the render loop for the whole load (minutes for a TensorRT engine).

Rows: the worker process (``MaskWorkerClient``) and the alternative, a ``threading.Thread``
mailbox worker in the same process, each alone and with a busy pure-Python thread competing for the
GIL. The last reproduces in miniature the 7 → 85 ms render stall measured in OBS: every GIL hand-back waits
for the busy thread's switch interval (5 ms). A busy Python thread hurts any caller, so the filter
must not have one; the process worker is how the mask work stays out of OBS's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obs_blur.pipeline import MaskPipeline
from obs_blur.segmentation.capture import capture_size_for
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.worker.client import MaskWorkerClient
from obs_blur.worker.protocol import clock_ns


def _libc() -> Any:
    """libc through ``ctypes.CDLL``, which drops the GIL around each call, as the filter's calls do."""
    return ctypes.CDLL(ctypes.util.find_library("c"))


def render_stand_in(libc: Any, calls: int, readback_us: int) -> None:
    """The filter's ctypes render path: one call waits (the read-back), the others return at once."""
    libc.usleep(readback_us)
    for _ in range(calls - 1):
        libc.abs(-1)


@dataclass
class ThreadResult:
    seq: int
    coefficients: np.ndarray
    mask: np.ndarray
    submitted_ns: int


class ThreadWorker:
    """The in-process alternative: one mailbox thread in the caller's process, newest frame wins."""

    def __init__(self, pipeline: MaskPipeline, device: str, threads: int) -> None:
        self._pipeline = pipeline
        self._device, self._threads = device, threads
        self._switch_to: Optional[str] = None
        self._wake = threading.Event()
        self._mailbox: Optional[tuple[int, np.ndarray, int]] = None
        self._result: Optional[ThreadResult] = None
        self._busy = False
        self._stopping = False
        self._seq = 0
        self._thread = threading.Thread(target=self._run, name="mask-thread", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, frame: np.ndarray) -> bool:
        if self._busy:
            return False
        self._seq += 1
        self._mailbox = (self._seq, frame.copy(), clock_ns())
        self._busy = True
        self._wake.set()
        return True

    def latest_result(self) -> Optional[ThreadResult]:
        result, self._result = self._result, None
        return result

    def poll(self) -> None:
        """Nothing to supervise in-process (and nothing to restart if it wedges)."""

    def switch_model(self, model: str) -> None:
        """Load another model on the worker thread, as an in-process filter would."""
        self._switch_to = model
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            if self._switch_to is not None:
                model, self._switch_to = self._switch_to, None
                self._pipeline = MaskPipeline.load(model, device=self._device, threads=self._threads)
            if not self._busy or self._mailbox is None:
                continue
            seq, frame, submitted_ns = self._mailbox
            small = self._pipeline.segmenter.capture(frame)  # frames sized for the previous model
            coefficients, mask = self._pipeline.capture_coefficients(small)
            self._result = ThreadResult(seq, coefficients, mask, submitted_ns)
            self._busy = False


@contextlib.contextmanager
def busy_python_thread(enabled: bool) -> Iterator[None]:
    """A pure-Python spin loop: it holds the GIL whenever it can, like any busy script thread."""
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=spin, name="busy-python", daemon=True)
    if enabled:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if enabled:
            thread.join()


@dataclass
class Measurement:
    worker: str
    competing: str
    client_us: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    switch_render_ms: list[float] = field(default_factory=list)
    masks: int = 0
    seconds: float = 0.0


def measure(worker: Any, frame: np.ndarray, row: Measurement, args: argparse.Namespace) -> None:
    """Steady frames for ``--seconds``, then a model switch while frames keep coming."""
    steady = render_loop(worker, frame, args.seconds, args)
    row.client_us, row.render_ms, row.latency_ms = steady.client_us, steady.render_ms, steady.latency_ms
    row.masks, row.seconds = steady.masks, steady.seconds
    switch_model(worker, args)
    row.switch_render_ms = render_loop(worker, frame, args.switch_seconds, args).render_ms


def render_loop(worker: Any, frame: np.ndarray, seconds: float, args: argparse.Namespace) -> Measurement:
    """One measured frame per tick at ``--fps``; between ticks, look for masks every 0.5 ms."""
    libc = _libc()
    row = Measurement("", "")
    started = next_tick = time.perf_counter()
    while (now := time.perf_counter()) - started < seconds:
        if now >= next_tick:
            next_tick = max(next_tick + 1.0 / args.fps, now)
            render_start = time.perf_counter()
            render_stand_in(libc, args.render_calls, args.readback_us)
            client_start = time.perf_counter()
            worker.submit(frame)
            result = worker.latest_result()
            worker.poll()
            done = time.perf_counter()
            row.client_us.append((done - client_start) * 1e6)
            row.render_ms.append((done - render_start) * 1e3)
        else:
            result = worker.latest_result()
        if result is not None:
            row.latency_ms.append((clock_ns() - result.submitted_ns) / 1e6)
        time.sleep(0.0005)
    row.masks = len(row.latency_ms)
    row.seconds = time.perf_counter() - started
    return row


def switch_model(worker: Any, args: argparse.Namespace) -> None:
    if isinstance(worker, MaskWorkerClient):
        worker.configure(args.switch_to, device=args.device, threads=args.threads)
    else:
        worker.switch_model(args.switch_to)


def warm_up(worker: Any, frame: np.ndarray, masks: int = 5) -> None:
    deadline = time.monotonic() + 30
    while masks and time.monotonic() < deadline:
        worker.submit(frame)
        if worker.latest_result() is not None:
            masks -= 1
        worker.poll()
        time.sleep(0.001)


def start_process_worker(args: argparse.Namespace) -> MaskWorkerClient:
    client = MaskWorkerClient()
    client.start()
    client.configure(args.model, device=args.device, threads=args.threads)
    deadline = time.monotonic() + 120
    while not client.ready:
        if time.monotonic() > deadline or client.state.failing:
            client.stop()
            raise SystemExit(f"the mask worker did not become ready: {client.status}")
        client.poll()
        time.sleep(0.01)
    return client


def run(args: argparse.Namespace) -> list[Measurement]:
    width, height = capture_size_for(load_manifest().get(args.model), 1280, 720)
    frame = astronaut_frame(width, height)
    rows = []
    for kind in ("process", "thread"):
        for competing in (False, True):
            worker = start_process_worker(args) if kind == "process" else start_thread_worker(args)
            try:
                warm_up(worker, frame)
                row = Measurement(kind, "busy Python thread" if competing else "none")
                with busy_python_thread(competing):
                    measure(worker, frame, row, args)
                rows.append(row)
            finally:
                worker.stop()
    return rows


def start_thread_worker(args: argparse.Namespace) -> ThreadWorker:
    pipeline = MaskPipeline.load(args.model, device=args.device, threads=args.threads)
    worker = ThreadWorker(pipeline, args.device, args.threads)
    worker.start()
    return worker


def astronaut_frame(width: int, height: int) -> np.ndarray:
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGRA)
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)


def _stats(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    median, p99 = np.percentile(values, [50, 99])
    return f"{median:.{digits}f} / {p99:.{digits}f} / {max(values):.{digits}f}"


def print_table(rows: list[Measurement], args: argparse.Namespace) -> None:
    print(
        f"\nmodel {args.model} (switch to {args.switch_to}), device {args.device}, "
        f"{args.fps:g} fps for {args.seconds:g} s per row, "
        f"render stand-in = {args.render_calls} ctypes calls incl. a {args.readback_us} µs read-back wait, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    print(
        "| worker | competing thread | client µs median / p99 / max | render ms median / p99 / max "
        "| latency ms median | masks/s | switch ms max |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        latency = f"{np.median(row.latency_ms):.1f}" if row.latency_ms else "-"
        print(
            f"| {row.worker} | {row.competing} | {_stats(row.client_us, 0)} | {_stats(row.render_ms, 2)} "
            f"| {latency} | {row.masks / row.seconds:.1f} | {max(row.switch_render_ms, default=0):.1f} |"
        )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mediapipe-landscape")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--switch-to", default="mediapipe-general", help="model loaded in the switch window")
    parser.add_argument("--switch-seconds", type=float, default=1.5)
    parser.add_argument("--render-calls", type=int, default=30, help="ctypes calls in the render stand-in")
    parser.add_argument("--readback-us", type=int, default=1000, help="how long its read-back call waits")
    args = parser.parse_args(argv)
    print_table(run(args), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
