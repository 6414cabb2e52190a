"""MaskLink, the filter's side of the worker, when a start goes wrong: one worker per back-off, never one per frame.

OBS calls ``MaskLink.tick`` on every video frame. A start that fails after the child process exists
must leave no process and no shared memory behind, must not start the next worker before its
back-off, must show why in the status, and must say so once in the OBS log. Real workers, real
models; libobs is loaded for its log function only (a stand-in where OBS is not installed).
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import types
from typing import Any, Callable, Optional

import numpy as np
import pytest
from test_mask_worker import (
    CAPTURE,
    bgra,
    children_of,
    our_segments,
    record_blocks,
    record_spawns,
    set_blocking_raises,
    spawn_then_raises,
    unmapped,
)

from obs_blur import paths
from obs_blur.obs.filter_settings import FilterSettings
from obs_blur.worker.client import MaskWorkerClient
from obs_blur.worker.protocol import clock_ns

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses POSIX signals and /proc")

SETTINGS = FilterSettings("blur", "mediapipe-landscape", 50, device="cpu")


@pytest.fixture
def mask_link(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """``obs_blur.obs.mask_link``, its OBS log lines collected in ``mask_link.logged``."""
    try:
        importlib.import_module("obs_blur.obs.libobs")
    except OSError:  # no libobs on this machine: MaskLink needs only its log function and levels
        stand_in = types.ModuleType("obs_blur.obs.libobs")
        stand_in.LOG_WARNING, stand_in.LOG_INFO = 200, 300  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "obs_blur.obs.libobs", stand_in)
        monkeypatch.delitem(sys.modules, "obs_blur.obs.mask_link", raising=False)
    module = importlib.import_module("obs_blur.obs.mask_link")
    logged: list[str] = []
    monkeypatch.setattr(module.libobs, "log", lambda _level, message: logged.append(message), raising=False)
    monkeypatch.setattr(module, "logged", logged, raising=False)
    return module


@pytest.fixture
def link(mask_link: types.ModuleType) -> Any:
    link = mask_link.MaskLink(lambda: "Blur")
    yield link
    link.stop()
    assert children_of(os.getpid()) == {} and our_segments() == []


def tick_for(link: Any, seconds: float) -> list[Exception]:
    """Video ticks, faster than any frame rate; the exceptions that escaped them.

    As in OBS, whose callback guard logs an escaped exception and carries on with the next tick.
    """
    escaped = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        try:
            link.tick(SETTINGS)
        except Exception as exc:
            escaped.append(exc)
        time.sleep(0.002)
    return escaped


def tick_until(link: Any, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, f"timed out; status: {link.report().status}"
        link.tick(SETTINGS)
        time.sleep(0.005)


def start_raises_after_the_spawn(monkeypatch: pytest.MonkeyPatch) -> str:
    """An exception the client itself lets escape from ``start``, with its worker already running."""
    start = MaskWorkerClient.start

    def broken(client: MaskWorkerClient) -> None:
        start(client)
        raise RuntimeError("started, then failed")

    monkeypatch.setattr(MaskWorkerClient, "start", broken)
    return "RuntimeError: started, then failed"


START_FAULTS = {
    "set_blocking raises": set_blocking_raises,
    "spawn then raises": spawn_then_raises,
    "start raises": start_raises_after_the_spawn,
}


@linux_only
@pytest.mark.parametrize("fault", START_FAULTS)
def test_a_start_that_fails_after_the_spawn_starts_one_worker_per_backoff(
    fault: str, link: Any, mask_link: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = START_FAULTS[fault](monkeypatch)
    spawned, blocks = record_spawns(monkeypatch), record_blocks(monkeypatch)

    escaped = tick_for(link, 0.3)  # within the first back-off (0.5 s)
    assert len(spawned) == 1, f"{len(spawned)} workers started, {len(escaped)} ticks raised"
    assert escaped == []
    assert spawned[0].returncode is not None and children_of(os.getpid()) == {}, "killed and reaped"
    assert our_segments() == [] and unmapped(blocks[0])
    report = link.report()
    assert not report.healthy and report.state == "restarting"
    assert report.status.startswith(f"cannot start the mask worker: {reason}; ")
    assert report.status.endswith(" in 0.5 s")
    assert mask_link.logged == [f"filter 'Blur': video passes through unchanged: {report.status}"]

    tick_until(link, lambda: len(spawned) == 2, timeout=2)  # the retry, after the back-off
    assert tick_for(link, 0.3) == []
    assert len(spawned) == 2 and link.report().status.endswith(" in 1 s")
    assert len(mask_link.logged) == 1, "the same fault again is not news"
    assert children_of(os.getpid()) == {} and all(unmapped(block) for block in blocks)


@linux_only
def test_without_os_set_blocking_the_filter_gets_masks_from_one_worker(
    link: Any, mask_link: types.ModuleType, monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray
) -> None:
    """Windows with Python 3.9 to 3.11: no ``os.set_blocking``, still one worker and masks."""
    monkeypatch.delattr(os, "set_blocking")
    spawned = record_spawns(monkeypatch)
    frame = bgra(astronaut, CAPTURE)
    masks: list[Any] = []

    def exchange() -> bool:
        frame[0, 0, 0] = len(masks) % 256  # a changing picture: a still one is not segmented again
        link.offer(lambda: (len(spawned) * 1000 + len(masks), frame, (1280, 720)))
        mask = link.take(lambda _in_flight_s, _latency_s: 0.0)
        if mask is not None:
            masks.append(mask)
        return len(masks) >= 3

    tick_until(link, exchange, timeout=20)
    assert len(spawned) == 1
    assert link.report().healthy and link.report().status.startswith("ready: CPU")
    assert not [line for line in mask_link.logged if "passes through" in line], mask_link.logged


def test_the_worker_logs_to_a_file_where_obs_stderr_reaches_nobody(mask_link: types.ModuleType) -> None:
    log_file = paths.user_data_dir() / "logs" / "worker.log"
    assert paths.worker_log_file() == log_file
    assert mask_link.worker_log_for_obs("windows") == mask_link.worker_log_for_obs("macos") == log_file
    assert mask_link.worker_log_for_obs("linux") is None, "OBS's own stderr, as before"


@linux_only
def test_on_windows_a_worker_fault_names_the_log_file_that_holds_its_lines(
    link: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "current_system", lambda: "windows")
    log_file = paths.worker_log_file()
    tick_until(link, lambda: link.ready, timeout=20)
    pid: Optional[int] = link._client.pid
    assert pid is not None
    assert f"obs-blur worker {pid}: ready: mediapipe-landscape on CPU" in log_file.read_text()

    os.kill(pid, signal.SIGKILL)
    tick_until(link, lambda: not link.report().healthy, timeout=2)
    assert link.report().status == f"worker crashed (exit code -9); restarting in 0.5 s; worker log: {log_file}"


def test_a_stamp_taken_in_a_child_process_lies_between_two_taken_here() -> None:
    """Parent and worker subtract each other's stamps: the clock must be system-wide, not per process."""
    program = "from obs_blur.worker.protocol import clock_ns; print(clock_ns())"
    before = clock_ns()
    child = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    after = clock_ns()
    assert before <= int(child.stdout) <= after


def test_a_mask_known_to_be_close_is_waited_for_within_the_budget(link: Any, astronaut: np.ndarray) -> None:
    """The frame engine's early hand-over: offer at the frame's start, take with a bounded wait at its draw."""
    frame = bgra(astronaut, CAPTURE)
    tick_until(link, lambda: link.ready, timeout=20)
    budgets: list[tuple[float, float]] = []

    def budget(in_flight_s: float, typical_latency_s: float) -> float:
        budgets.append((in_flight_s, typical_latency_s))
        return 0.5

    for number in range(5):
        frame[0, 0, 0] = number  # a changing picture: a still one is not segmented again
        link.tick(SETTINGS)
        assert link.offer(lambda number=number: (number, frame, (1280, 720))) is None
        mask = link.take(budget)
        if number == 0:
            assert mask is None and budgets == [], "no latency known yet: no wait"
            tick_until(link, lambda: link.take(budget) is not None, timeout=10)
            continue
        assert mask is not None and mask.frame_number == number, "the mask of the frame just offered"
        assert 0.0 < link.waited_s < 0.5
    in_flight_s, typical_s = budgets[-1]
    print(f"waited {1000 * link.waited_s:.1f} ms; worker latency {1000 * typical_s:.1f} ms")
    assert 0.0 <= in_flight_s < typical_s < 0.5
