"""The mask worker process and its non-blocking client: real subprocess, real model, real photo.

The OBS filter relies on three promises tested here: the masks are the in-process pipeline's masks,
the graphics thread is never blocked (frames are dropped while the worker is busy, never queued),
and a worker that errs, crashes or hangs is reported and replaced without leaving processes or
shared memory behind.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import cv2
import numpy as np
import pytest
from pictures import person_far_in_wide_frame

from obs_blur.edge_band import COEFFICIENT_CHANNELS
from obs_blur.errors import ObsBlurError
from obs_blur.paths import REPO_ROOT
from obs_blur.pipeline import MaskPipeline
from obs_blur.refine import RefineSettings
from obs_blur.segmentation.capture import capture_size_for, mask_size_for
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.worker import shared_block
from obs_blur.worker.client import MaskWorkerClient, Result
from obs_blur.worker.interpreter import find_embedded_python, interpreter_candidates, worker_environment
from obs_blur.worker.log_file import LOG_ROTATE_BYTES, LimitedLogHandler
from obs_blur.worker.process import WorkerProcess
from obs_blur.worker.protocol import Configure, encode, worker_command
from obs_blur.worker.server import EventStream, MaskWorker
from obs_blur.worker.shared_block import SharedBlock

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses POSIX signals and /proc")

LANDSCAPE = "mediapipe-landscape"
GENERAL = "mediapipe-general"
CAPTURE = (256, 144)


def bgra(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The photo as the filter hands it over: already at capture size, BGRA."""
    return cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2BGRA)


@pytest.fixture
def frame(astronaut: np.ndarray) -> np.ndarray:
    return bgra(astronaut, CAPTURE)


@pytest.fixture
def make_client() -> Iterator[Callable[..., MaskWorkerClient]]:
    clients: list[MaskWorkerClient] = []

    def make(**kwargs: object) -> MaskWorkerClient:
        clients.append(MaskWorkerClient(**kwargs))  # type: ignore[arg-type]
        return clients[-1]

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def client(make_client: Callable[..., MaskWorkerClient]) -> MaskWorkerClient:
    return make_client()


@pytest.fixture(autouse=True)
def no_children_left() -> Iterator[None]:
    """After every test: no child process of ours, running or zombie, and no segment of ours."""
    yield
    assert children_of(os.getpid()) == {}
    assert our_segments() == []


def children_of(parent: int) -> dict[int, str]:
    """pid → state letter of every process whose parent is ``parent`` (a /proc scan)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children[int(stat.parent.name)] = fields[0]
    return children


def our_segments() -> list[str]:
    return [name for name in os.listdir("/dev/shm") if name.startswith(f"obsblur_{os.getpid()}_")]


def gone(pid: int) -> bool:
    """Exited and reaped: a zombie would still have its /proc entry."""
    return not Path(f"/proc/{pid}").exists()


def wait_until(client: MaskWorkerClient, condition: Callable[[], bool], timeout: float) -> float:
    """Poll like the filter does (non-blocking, every few ms) until ``condition``; seconds taken."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout} s; worker status: {client.status}")
        client.poll()
        time.sleep(0.005)
    return time.monotonic() - started


def start_ready(client: MaskWorkerClient, model: str = LANDSCAPE, softness: float = 0.35) -> None:
    client.start()
    client.configure(model, device="cpu", threads=1, smoothing=0.5, softness=softness)
    wait_until(client, lambda: client.state in ("ready", "error"), timeout=15)
    assert client.ready, client.status


def next_result(
    client: MaskWorkerClient, frame: np.ndarray, timeout: float = 10, video_size: Optional[tuple[int, int]] = None
) -> Result:
    """Feed ``frame`` like the render loop would until a mask comes back; none is left in flight."""
    results: list[Result] = []

    def arrived() -> bool:
        result = client.latest_result()
        if result is not None:
            results.append(result)
        else:
            client.submit(frame, video_size)  # dropped while the previous one is in flight
        return bool(results)

    wait_until(client, arrived, timeout)
    return results[0]


def wait_for_result(client: MaskWorkerClient, timeout: float = 5) -> Result:
    """Wait for the mask of a frame already submitted, submitting nothing more."""
    results: list[Result] = []

    def arrived() -> bool:
        result = client.latest_result()
        if result is not None:
            results.append(result)
        return bool(results)

    wait_until(client, arrived, timeout)
    return results[0]


def test_results_equal_the_in_process_pipeline(client: MaskWorkerClient, frame: np.ndarray) -> None:
    start_ready(client, softness=0.6)
    assert client.status.startswith("ready: CPU")
    result = next_result(client, frame)

    reference = MaskPipeline.load(
        LANDSCAPE, device="cpu", threads=1, smoothing=0.5, refine=RefineSettings(softness=0.6)
    )
    coefficients, mask = reference.capture_coefficients(frame)
    assert result.model == LANDSCAPE
    assert result.mask_size == CAPTURE
    assert result.coefficients.shape == coefficients.shape == (72, 128, COEFFICIENT_CHANNELS)  # half the mask's grid
    assert result.mask.dtype == np.float32 and result.coefficients.dtype == np.float32
    assert np.abs(result.mask - mask).max() <= 1e-4
    assert np.abs(result.coefficients - coefficients).max() <= 1e-4
    assert result.submitted_ns <= result.started_ns <= result.finished_ns <= result.received_ns

    # Softness changes without a reload and keeps the smoothing history: frame 2 matches too.
    client.configure(LANDSCAPE, device="cpu", threads=1, smoothing=0.5, softness=0.2)
    assert client.ready, "a settings change is not a model load"
    reference.refine = RefineSettings(softness=0.2)
    second_frame = np.ascontiguousarray(frame[:, ::-1])  # mirrored: the smoothing state matters
    coefficients, mask = reference.capture_coefficients(second_frame)
    second = next_result(client, second_frame)
    assert np.abs(second.mask - mask).max() <= 1e-4
    assert np.abs(second.coefficients - coefficients).max() <= 1e-4


def test_submit_never_blocks_and_drops_frames_while_busy(client: MaskWorkerClient, frame: np.ndarray) -> None:
    start_ready(client)
    next_result(client, frame)
    worker = client.pid
    assert worker is not None
    os.kill(worker, signal.SIGSTOP)  # the worker is now busy for as long as we like
    try:
        assert client.submit(frame)
        accepted_seq = client._next_seq - 1
        dropped_before = client.dropped_frames
        durations = []
        for _ in range(200):
            started = time.perf_counter()
            accepted = client.submit(frame)
            durations.append(time.perf_counter() - started)
            assert not accepted
    finally:
        os.kill(worker, signal.SIGCONT)
    assert max(durations) < 1e-3, f"slowest submit took {max(durations) * 1e3:.2f} ms"
    assert client.dropped_frames - dropped_before == 200

    # Only the accepted frame was computed: nothing was queued behind it.
    result = wait_for_result(client)
    assert result.seq == accepted_seq
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        assert client.latest_result() is None
        client.poll()
        time.sleep(0.01)


def test_model_switch_while_frames_flow(client: MaskWorkerClient, astronaut: np.ndarray) -> None:
    start_ready(client, LANDSCAPE)
    landscape_frame = bgra(astronaut, CAPTURE)
    assert next_result(client, landscape_frame).mask_size == CAPTURE

    assert client.submit(landscape_frame), "a frame is in flight during the switch"
    client.configure(GENERAL, device="cpu", threads=1)
    assert client.status == f"loading model {GENERAL}…"
    assert not client.submit(landscape_frame), "no frames while the new model loads"

    general_size = mask_size_for(load_manifest().get(GENERAL), 1280, 720)
    assert general_size == (256, 256)
    general_frame = bgra(astronaut, capture_size_for(load_manifest().get(GENERAL), 1280, 720))
    result = next_result(client, general_frame)
    while result.model != GENERAL:  # a frame submitted before the switch may still come back
        result = next_result(client, general_frame)
    assert result.mask_size == general_size
    assert result.coefficients.shape == (128, 128, COEFFICIENT_CHANNELS)
    assert client.status.startswith("ready: CPU")


def test_unknown_model_is_reported_and_a_good_configure_recovers(client: MaskWorkerClient, frame: np.ndarray) -> None:
    client.start()
    client.configure("no-such-model", device="cpu")
    wait_until(client, lambda: client.state == "error", timeout=15)
    assert client.status.startswith("model error: unknown model 'no-such-model': choose one of ")
    worker = client.pid
    assert not client.submit(frame)

    client.configure(LANDSCAPE, device="cpu", threads=1)
    wait_until(client, lambda: client.ready, timeout=15)
    assert next_result(client, frame).model == LANDSCAPE
    assert client.pid == worker and client.restarts == 0, "the error was reported, not fatal"


def test_killed_worker_is_detected_and_restarted_with_backoff(client: MaskWorkerClient, frame: np.ndarray) -> None:
    start_ready(client)
    next_result(client, frame)
    first = client.pid
    assert first is not None

    os.kill(first, signal.SIGKILL)
    assert wait_until(client, lambda: client.state == "restarting", timeout=1) < 1
    assert client.status == "worker crashed (exit code -9); restarting in 0.5 s"

    # The replacement dies before it delivers a mask: the back-off doubles.
    wait_until(client, lambda: client.pid not in (None, first), timeout=2)
    second = client.pid
    assert second is not None
    os.kill(second, signal.SIGKILL)
    wait_until(client, lambda: client.state == "restarting", timeout=1)
    assert client.status == "worker crashed (exit code -9); restarting in 1 s"

    wait_until(client, lambda: client.ready, timeout=15)
    assert next_result(client, frame).model == LANDSCAPE
    assert client.pid not in (first, second) and client.restarts == 2
    wait_until(client, lambda: gone(first) and gone(second), timeout=1)


def test_hung_worker_is_replaced_after_the_hang_timeout(
    make_client: Callable[..., MaskWorkerClient], frame: np.ndarray
) -> None:
    client = make_client(hang_timeout_s=1.0)
    start_ready(client)
    next_result(client, frame)
    hung = client.pid
    assert hung is not None

    os.kill(hung, signal.SIGSTOP)
    assert client.submit(frame)
    detected = wait_until(client, lambda: client.state == "restarting", timeout=3)
    assert 1.0 <= detected < 1.5
    assert client.status == "worker stopped responding (no mask for 1 s); restarting in 0.5 s"

    wait_until(client, lambda: client.ready, timeout=15)
    next_result(client, frame)
    assert client.pid != hung
    wait_until(client, lambda: gone(hung), timeout=1)  # continued, killed and reaped: no zombie
    with pytest.raises(ChildProcessError):
        os.waitpid(hung, os.WNOHANG)


def test_worker_exits_when_its_stdin_closes() -> None:
    """The parent died or closed the pipe: the worker ends by itself, and stdout carried only events."""
    block = SharedBlock.create(CAPTURE)
    command = worker_command(find_embedded_python(), block.name)
    worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=worker_environment())
    assert worker.stdin is not None and worker.stdout is not None
    try:
        worker.stdin.write(encode(Configure(1, LANDSCAPE, device="cpu", threads=1)))
        worker.stdin.flush()
        events = [read_event(worker.stdout, timeout=15) for _ in range(2)]
        assert [event["event"] for event in events] == ["attached", "ready"]

        worker.stdin.close()
        assert worker.wait(timeout=2) == 0
        assert worker.stdout.read() == b"", "nothing but events on stdout"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()
        block.close()


def read_event(stream: object, timeout: float) -> dict[str, object]:
    fd = stream.fileno()  # type: ignore[attr-defined]
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "the worker sent no event"
    return json.loads(stream.readline())  # type: ignore[attr-defined]


def test_stop_leaves_no_process_and_no_shared_memory(
    make_client: Callable[..., MaskWorkerClient], frame: np.ndarray
) -> None:
    client = make_client()
    client.start()
    client.stop()  # before the worker even attached: the segment is still named, and stop() unlinks it
    assert client.pid is None and client.status == "stopped"
    assert our_segments() == [] and children_of(os.getpid()) == {}

    start_ready(client)
    next_result(client, frame)
    assert our_segments() == [], "the name is unlinked once the worker attached (OBS may crash)"
    worker = client.pid
    client.stop()
    assert worker is not None and gone(worker)

    hung = make_client()
    start_ready(hung)
    hung_pid = hung.pid
    assert hung_pid is not None
    os.kill(hung_pid, signal.SIGSTOP)
    started = time.monotonic()
    hung.stop()  # quit is never read: killed after the 1 s grace
    assert time.monotonic() - started < 2.5
    assert gone(hung_pid)


def test_a_slot_being_written_is_never_read(frame: np.ndarray) -> None:
    block = SharedBlock.create(CAPTURE)
    try:
        block.write_frame(7, frame, submitted_ns=123)
        slot = block.read_frame()
        assert slot is not None and slot.seq == 7 and slot.submitted_ns == 123
        assert np.array_equal(slot.frame, frame)
        block._begin_write(shared_block._FRAME_LOCK)  # a writer stopped half-way
        assert block.read_frame() is None
    finally:
        block.close()


def test_interpreter_rule_matches_the_embedded_python(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    debian = interpreter_candidates("/usr", "/usr", "/usr", (3, 11), "linux")
    assert debian[0] == Path("/usr/bin/python3.11")
    windows = interpreter_candidates("C:/Python312", "C:/Python312", "C:/Python312", (3, 12), "win32")
    assert windows == [Path("C:/Python312/python.exe")]
    framework = "/Library/Frameworks/Python.framework/Versions/3.11"
    assert interpreter_candidates(framework, framework, framework, (3, 11), "darwin")[0] == Path(
        f"{framework}/bin/python3.11"
    )

    override = tmp_path / "python3.11"
    override.write_text("")
    monkeypatch.setenv("OBS_BLUR_PYTHON", str(override))
    assert find_embedded_python() == str(override)
    monkeypatch.setenv("OBS_BLUR_PYTHON", str(tmp_path / "missing"))
    with pytest.raises(ObsBlurError, match="OBS_BLUR_PYTHON"):
        find_embedded_python()

    monkeypatch.delenv("OBS_BLUR_PYTHON")
    found = subprocess.run(
        [find_embedded_python(), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    assert found.stdout.strip() == str(sys.version_info[:2])


def test_worker_environment_drops_obs_python_settings() -> None:
    obs = {"PYTHONHOME": "/obs", "PYTHONPATH": "/obs/lib", "OBS_BLUR_PYDEPS": "/deps", "PATH": "/bin"}
    env = worker_environment(obs)
    assert "PYTHONHOME" not in env
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO_ROOT), "/deps"]
    assert env["PATH"] == "/bin"
    assert worker_environment({})["PYTHONPATH"] == str(REPO_ROOT)


# -- starting a worker: nothing may outlive a failed start ---------------------------------------


def record_spawns(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Every process started through ``subprocess.Popen`` from now on, in order."""
    spawned: list[subprocess.Popen[bytes]] = []

    class Recorded(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spawned.append(self)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    return spawned


def record_blocks(monkeypatch: pytest.MonkeyPatch) -> list[SharedBlock]:
    """Every shared-memory segment the client creates from now on."""
    blocks: list[SharedBlock] = []
    create = SharedBlock.create.__func__  # type: ignore[attr-defined]

    def recorded(cls: type[SharedBlock], max_size: tuple[int, int]) -> SharedBlock:
        blocks.append(create(cls, max_size))
        return blocks[-1]

    monkeypatch.setattr(SharedBlock, "create", classmethod(recorded))
    return blocks


def unmapped(block: SharedBlock) -> bool:
    return block._memory.buf is None


def set_blocking_raises(monkeypatch: pytest.MonkeyPatch) -> str:
    """``os.set_blocking`` present but failing with the error Windows before Python 3.12 gives."""

    def missing(_fd: int, _blocking: bool) -> None:
        raise AttributeError("module 'os' has no attribute 'set_blocking'")

    monkeypatch.setattr(os, "set_blocking", missing)
    return "AttributeError: module 'os' has no attribute 'set_blocking'"


def first_configure_raises(monkeypatch: pytest.MonkeyPatch) -> str:
    """Any other exception between the spawn and the first message to the worker."""

    def broken(_client: MaskWorkerClient) -> None:
        raise RuntimeError("cannot encode the configure line")

    monkeypatch.setattr(MaskWorkerClient, "_send_configure", broken)
    return "RuntimeError: cannot encode the configure line"


def spawn_then_raises(monkeypatch: pytest.MonkeyPatch) -> str:
    """An unexpected exception right after the child process started."""
    popen = WorkerProcess._popen

    def broken(worker: WorkerProcess, python: str, shm_name: str) -> subprocess.Popen[bytes]:
        popen(worker, python, shm_name)
        raise MemoryError("out of memory")

    monkeypatch.setattr(WorkerProcess, "_popen", broken)
    return "MemoryError: out of memory"


AFTER_SPAWN_FAULTS = {
    "set_blocking raises": set_blocking_raises,
    "spawn then raises": spawn_then_raises,
    "first configure raises": first_configure_raises,
}


@pytest.mark.parametrize("fault", AFTER_SPAWN_FAULTS)
def test_an_exception_after_the_spawn_leaves_nothing_behind_and_backs_off(
    fault: str, make_client: Callable[..., MaskWorkerClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = AFTER_SPAWN_FAULTS[fault](monkeypatch)
    spawned, blocks = record_spawns(monkeypatch), record_blocks(monkeypatch)
    client = make_client()
    client.configure(LANDSCAPE, device="cpu", threads=1)

    client.start()  # never raises: the failure is a status with a retry
    assert len(spawned) == 1 and spawned[0].returncode is not None, "killed and reaped at once"
    assert children_of(os.getpid()) == {} and our_segments() == [] and unmapped(blocks[0])
    assert client.state == "restarting" and client.pid is None
    assert client.status == f"cannot start the mask worker: {reason}; restarting in 0.5 s"

    started = time.perf_counter()
    while time.perf_counter() - started < 0.3:  # the filter polls on every frame
        client.poll()
        time.sleep(0.002)
    assert len(spawned) == 1, "no second worker within the back-off"

    wait_until(client, lambda: len(spawned) == 2, timeout=2)
    assert client.status == f"cannot start the mask worker: {reason}; restarting in 1 s"
    assert children_of(os.getpid()) == {} and all(unmapped(block) for block in blocks)


def worker_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("obs-blur worker")]


def test_without_os_set_blocking_helper_threads_carry_the_pipes(
    make_client: Callable[..., MaskWorkerClient], frame: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows before Python 3.12 has no ``os.set_blocking``: one worker runs all the same."""
    monkeypatch.delattr(os, "set_blocking")
    spawned = record_spawns(monkeypatch)
    client = make_client()
    start_ready(client)
    assert sorted(worker_threads()) == ["obs-blur worker commands", "obs-blur worker events"]
    for _ in range(3):
        assert next_result(client, frame).model == LANDSCAPE
    assert len(spawned) == 1

    first = client.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)  # a crash is still noticed, and the replacement still serves
    wait_until(client, lambda: client.state == "restarting", timeout=1)
    wait_until(client, lambda: client.ready, timeout=15)
    assert next_result(client, frame).model == LANDSCAPE
    assert len(spawned) == 2

    client.stop()
    deadline = time.monotonic() + 2
    while worker_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker_threads() == []


@pytest.mark.parametrize("pipes", ["non-blocking", "threads"])
def test_a_worker_that_exits_at_once_says_why(
    pipes: str, make_client: Callable[..., MaskWorkerClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's last event (it refuses the segment) reaches the status before the worker is replaced."""
    if pipes == "threads":
        monkeypatch.delattr(os, "set_blocking")
    understood = shared_block.LAYOUT_VERSION
    monkeypatch.setattr(shared_block, "LAYOUT_VERSION", 99)  # a segment the worker does not understand
    client = make_client()
    client.start()
    wait_until(client, lambda: client.state == "restarting", timeout=10)
    assert client.status.startswith("worker crashed (exit code 2: shared memory ")
    assert client.status.endswith(f"v99, expected v{understood}); restarting in 0.5 s")


# -- the worker's log file -----------------------------------------------------------------------


def test_the_worker_log_file_starts_fresh_when_large_and_a_fault_names_it(
    make_client: Callable[..., MaskWorkerClient], tmp_path: Path
) -> None:
    log_file = tmp_path / "logs" / "worker.log"
    log_file.parent.mkdir()
    log_file.write_bytes(b"an old line\n" * (LOG_ROTATE_BYTES // 12 + 1))
    client = make_client(stderr_log=log_file)
    start_ready(client)
    worker = client.pid

    assert (tmp_path / "logs" / "worker.log.1").stat().st_size >= LOG_ROTATE_BYTES, "the old log is set aside"
    text = log_file.read_text()
    assert "an old line" not in text
    assert f"obs-blur worker {worker}: ready: {LANDSCAPE} on CPU" in text

    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    wait_until(client, lambda: client.state == "restarting", timeout=1)
    assert client.status == f"worker crashed (exit code -9); restarting in 0.5 s; worker log: {log_file}"
    wait_until(client, lambda: client.ready, timeout=15)
    assert log_file.read_text().startswith(text), "a restart appends to a small log"


def test_worker_log_lines_stop_at_the_limit(tmp_path: Path) -> None:
    """A frame failing 30 times a second must not fill the disk: lines stop at the limit, with one notice."""
    log_file = tmp_path / "worker.log"
    with log_file.open("a") as stream:
        handler = LimitedLogHandler(1000, stream)
        for seq in range(200):
            handler.handle(logging.makeLogRecord({"msg": "frame %d failed: CUDA failure 700", "args": (seq,)}))
    text = log_file.read_text()
    assert 1000 <= len(text) < 1100
    assert text.count("the log file reached 1000 bytes") == 1
    assert text.splitlines()[-1] == "the log file reached 1000 bytes: this worker adds no more lines"


# -- clocks --------------------------------------------------------------------------------------


class InstantPipeline:
    """Just enough of MaskPipeline for ``MaskWorker.process_frame``: an empty mask, at once."""

    model_name = LANDSCAPE

    def __init__(self) -> None:
        self.segmenter = self
        self.session = self

    def describe(self) -> str:
        return "CPU"

    def capture_coefficients(self, capture: np.ndarray, video_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        height, width = capture.shape[:2]
        return np.zeros((height, width, COEFFICIENT_CHANNELS), np.float32), np.zeros((height, width), np.float32)

    crop_share = 1.0

    def look_around(self) -> None:
        """Nothing to look for."""


def test_mask_durations_come_from_the_high_resolution_clock(frame: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows before Python 3.13 ``time.monotonic_ns`` moves in 15.6 ms steps: a 2.5 ms mask read 0."""
    step = 15_625_000
    real_monotonic_ns = time.monotonic_ns
    monkeypatch.setattr(time, "monotonic_ns", lambda: real_monotonic_ns() // step * step)
    precise = iter(range(10**15, 2 * 10**15, 2_500_000))  # a clock that advances 2.5 ms per reading
    monkeypatch.setattr(time, "perf_counter_ns", lambda: next(precise))

    block = SharedBlock.create(CAPTURE)
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        worker = MaskWorker(block, EventStream(write_end))
        worker.pipeline, worker.provider = InstantPipeline(), "CPU"
        block.write_frame(1, frame, submitted_ns=10**15)
        worker.process_frame(1)
        (done,) = [json.loads(line) for line in os.read(read_end, 65536).splitlines()]
        result = block.read_result()
    finally:
        os.close(read_end)
        os.close(write_end)
        block.close()
    assert done["event"] == "done" and done["ok"] and done["compute_ms"] == 2.5
    assert result is not None and result.finished_ns - result.started_ns == 2_500_000


def test_client_stamps_are_on_the_clock_the_worker_stamps_with(
    client: MaskWorkerClient, frame: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Submitted (here), started and finished (worker), received (here): one clock, in order."""

    def coarse() -> int:
        raise AssertionError("time.monotonic_ns moves in 15.6 ms steps on Windows before Python 3.13")

    monkeypatch.setattr(time, "monotonic_ns", coarse)
    start_ready(client)
    before = time.perf_counter_ns()
    result = next_result(client, frame)
    after = time.perf_counter_ns()
    assert before <= result.submitted_ns <= result.started_ns <= result.finished_ns <= result.received_ns <= after
    assert result.latency_ms == (result.received_ns - result.submitted_ns) / 1e6 > 0


def test_the_worker_says_when_it_looks_at_a_crop_around_a_person_standing_back(
    client: MaskWorkerClient, camera: np.ndarray, astronaut: np.ndarray
) -> None:
    """Each result says which share of the frame the model looks at next: below 1 the filter captures
    with double detail for the crop (``FrameEngine.wants_detail``); a close person gets the whole frame."""
    start_ready(client, GENERAL)
    video = (1280, 720)
    far = person_far_in_wide_frame(camera)
    first = next_result(client, bgra(far, (256, 256)), video_size=video)
    assert 0.0 < first.crop_share < 0.5, "the whole frame's mask found her: a crop next"
    detailed = next_result(client, bgra(far, (512, 512)), video_size=video)
    assert detailed.mask_size == (256, 256) and 0.0 < detailed.crop_share < 0.5
    close = astronaut[:320, 96:416]  # her head and shoulders fill this one
    shares = [detailed.crop_share]
    for _ in range(12):  # captured as the filter does: with detail while the worker crops
        size = (512, 512) if shares[-1] < 1.0 else (256, 256)
        shares.append(next_result(client, bgra(close, size), video_size=(320, 320)).crop_share)
    assert shares[-1] == 1.0, f"a person filling the frame: the crop grows to the whole frame ({shares})"
