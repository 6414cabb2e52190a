"""Parent side of the mask worker: hands frames to a child process and never blocks the caller.

Why a process and not a thread: OBS's ``obspython`` never releases the GIL on its own, so any busy
Python thread inside OBS stalls the render callback (the spike measured 7 → 85 ms), and a mask
thread inside OBS competes for that GIL with the render callback: under a busy script thread it
delivers a fraction of the masks (``tools/bench_worker.py``). Session creation is another risk: it
held the GIL in onnxruntime 1.23 (microsoft/onnxruntime#27063), and a TensorRT engine build takes
minutes. A separate process also survives a crashing GPU driver and can be killed when it hangs.
The worker (``obs_blur.mask_worker``) runs in its own interpreter; OBS's graphics thread only copies
a small frame into shared memory, writes a one-line wake-up into a non-blocking pipe, and copies
results out.

Every method except :meth:`MaskWorkerClient.stop` is non-blocking: no waits, no blocking pipe reads,
no locks shared with the worker. The client is not thread-safe: call it from one thread (the
graphics thread); hand settings changes to that thread rather than calling ``configure`` elsewhere.
Where pipes cannot be made non-blocking (Windows before Python 3.12 has no ``os.set_blocking``), two
helper threads do the blocking reads and writes instead (:class:`_ThreadedPipes`).

Shared-memory layout (one segment per worker process, native byte order, all offsets 64-byte
aligned; ``W``, ``H`` = ``max_capture``)::

    offset 0    header: 32 x int64
                  [0] magic 0x4F42534C55524D31 ("OBSLURM1")   [1] layout version (1)
                  [2] max width W                             [3] max height H
                  frame slot (parent writes, worker reads):
                  [4] frame lock (seqlock: odd while being written)
                  [5] frame sequence number   [6] width   [7] height   [8] submitted ns
                  result slot (worker writes, parent reads):
                  [9] result lock (seqlock)
                  [10] frame sequence number it belongs to   [11] width   [12] height
                  [13] submitted ns   [14] worker started ns   [15] worker finished ns
                  [16] events sent (worker: +1 after each stdout line)   [17..31] reserved (0)
    offset 256  frame: BGRA uint8, rows packed (width * 4 bytes each), room for W x H
    then        coefficients: float32 (height, width, 2) packed, room for W x H x 2
    then        mask: float32 (height, width) packed, room for W x H

Each slot is a seqlock: the writer makes its lock odd, writes fields and pixels, then makes it even
again; a reader copies everything out and accepts the copy only if the lock was even and unchanged.
On top of that, ownership is handed over through the pipes, whose kernel locks also order memory
on weakly ordered CPUs: the parent writes a frame only while no frame is outstanding and then sends
``frame``; the worker reads the frame after that line and answers ``done`` after writing the
result; the parent trusts a result only once it has read ``done`` for exactly that sequence number.
So at most one frame is ever in flight (newer frames are dropped, never queued), and a half-written
frame or result is never used. The events-sent counter is only a hint: the parent reads its pipe when
the counter moved, because every system call releases the GIL, and in OBS each re-acquisition can
wait out a busy Python thread's 5 ms switch interval. Timestamps and durations come from
:func:`clock_ns`, in both processes, so parent and worker stamps can be subtracted.

The segment's name is unlinked as soon as the worker says it attached, so a crash of OBS cannot leave
a stale segment in ``/dev/shm``; each restart gets a fresh segment, so a dying worker can never
scribble on its successor's frames.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import IO, Any, Callable, ClassVar, Iterator, Optional, TypeVar, Union

import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.paths import REPO_ROOT, unsafe_code_folder

log = logging.getLogger("obs_blur.worker")

MAGIC = 0x4F42534C55524D31
LAYOUT_VERSION = 1
HEADER_BYTES = 256

# Header fields (indices into the int64 header).
_MAGIC, _VERSION, _MAX_WIDTH, _MAX_HEIGHT = 0, 1, 2, 3
_FRAME_LOCK, _FRAME_SEQ, _FRAME_WIDTH, _FRAME_HEIGHT, _FRAME_SUBMITTED = 4, 5, 6, 7, 8
_RESULT_LOCK, _RESULT_SEQ, _RESULT_WIDTH, _RESULT_HEIGHT = 9, 10, 11, 12
_RESULT_SUBMITTED, _RESULT_STARTED, _RESULT_FINISHED = 13, 14, 15
_EVENTS_SENT = 16

DEFAULT_MAX_CAPTURE = (512, 512)
DEFAULT_HANG_TIMEOUT_S = 3.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 1.0
#: How often poll() asks the OS whether the worker still runs (a system call: see the GIL note above).
LIVENESS_INTERVAL_S = 0.1
_READ_CHUNK = 65536
_MAX_PENDING_EVENT_BYTES = 1 << 20
#: A worker log file this large is set aside as ``<name>.1`` when the next worker starts.
LOG_ROTATE_BYTES = 1 << 20
#: Workers stop adding log lines to a file this large (one that failing frames would fill 30 times a second).
LOG_LIMIT_BYTES = 2 << 20
#: How long a crashed worker's last words may take to reach the reader thread (threaded pipes only).
_LAST_WORDS_S = 0.1

T = TypeVar("T")


def clock_ns() -> int:
    """Now, in nanoseconds, on the one clock for every timestamp and duration of the worker and its client.

    ``time.perf_counter_ns``: ``time.monotonic_ns`` advances in 15.6 ms steps on Windows before
    Python 3.13, so a 5 ms mask would read 0 or 15.6 ms. perf_counter reads QueryPerformanceCounter on
    Windows and CLOCK_MONOTONIC on Linux (mach_absolute_time on macOS): system-wide counters without a
    per-process origin, so a stamp taken in the worker can be subtracted from one taken here.
    """
    return time.perf_counter_ns()


def clock_s() -> float:
    """:func:`clock_ns` in seconds, for deadlines and back-offs."""
    return clock_ns() / 1e9


def first_line(exc: BaseException) -> str:
    """One sentence for the status line: an ObsBlurError as is, anything else by its type and first line."""
    if isinstance(exc, ObsBlurError):
        return str(exc)
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def _align(offset: int, alignment: int = 64) -> int:
    return (offset + alignment - 1) // alignment * alignment


@contextlib.contextmanager
def _untracked() -> Iterator[None]:
    """Keep ``SharedMemory`` away from multiprocessing's resource tracker (Python < 3.13).

    The tracker would start a helper process with ``sys.executable`` (inside OBS that is not the
    embedded interpreter, and on Windows may be OBS itself), and in the worker it would unlink the
    parent's segment when the worker exits. We own the segment's lifetime explicitly instead.
    """
    register, unregister = resource_tracker.register, resource_tracker.unregister
    resource_tracker.register = resource_tracker.unregister = lambda *_args, **_kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        resource_tracker.register, resource_tracker.unregister = register, unregister  # type: ignore[assignment]


def _open_shared_memory(name: Optional[str], size: int = 0) -> SharedMemory:
    create = name is None
    name = name or f"obsblur_{os.getpid()}_{secrets.token_hex(4)}"
    if sys.version_info >= (3, 13):
        return SharedMemory(name=name, create=create, size=size, track=False)  # type: ignore[call-arg]
    with _untracked():
        return SharedMemory(name=name, create=create, size=size)


@dataclass(frozen=True)
class FrameSlot:
    """A frame copied out of shared memory by the worker."""

    seq: int
    frame: np.ndarray
    submitted_ns: int


@dataclass(frozen=True)
class ResultSlot:
    """A result copied out of shared memory by the parent."""

    seq: int
    coefficients: np.ndarray
    mask: np.ndarray
    submitted_ns: int
    started_ns: int
    finished_ns: int


class SharedBlock:
    """The shared-memory segment laid out as documented at the top of this module."""

    def __init__(self, memory: SharedMemory, owner: bool) -> None:
        self._memory = memory
        self._owner = owner
        self._linked = owner
        self._header = np.ndarray((HEADER_BYTES // 8,), np.int64, buffer=memory.buf)
        width, height = int(self._header[_MAX_WIDTH]), int(self._header[_MAX_HEIGHT])
        pixels = width * height
        coefficients_at = _align(HEADER_BYTES + pixels * 4)
        mask_at = _align(coefficients_at + pixels * 8)
        self.max_size = (width, height)
        self._frame = np.ndarray((pixels * 4,), np.uint8, buffer=memory.buf, offset=HEADER_BYTES)
        self._coefficients = np.ndarray((pixels * 2,), np.float32, buffer=memory.buf, offset=coefficients_at)
        self._mask = np.ndarray((pixels,), np.float32, buffer=memory.buf, offset=mask_at)

    @staticmethod
    def bytes_needed(max_size: tuple[int, int]) -> int:
        pixels = max_size[0] * max_size[1]
        return _align(_align(_align(HEADER_BYTES + pixels * 4) + pixels * 8) + pixels * 4)

    @classmethod
    def create(cls, max_size: tuple[int, int]) -> SharedBlock:
        """A new segment with a fresh header (parent side)."""
        memory = _open_shared_memory(None, cls.bytes_needed(max_size))
        header = np.ndarray((HEADER_BYTES // 8,), np.int64, buffer=memory.buf)
        header[:] = 0
        header[_MAGIC], header[_VERSION] = MAGIC, LAYOUT_VERSION
        header[_MAX_WIDTH], header[_MAX_HEIGHT] = max_size
        del header
        return cls(memory, owner=True)

    @classmethod
    def attach(cls, name: str) -> SharedBlock:
        """Open the parent's segment (worker side), refusing one with another layout."""
        memory = _open_shared_memory(name)
        header = np.ndarray((4,), np.int64, buffer=memory.buf)
        magic, version = int(header[_MAGIC]), int(header[_VERSION])
        del header
        if magic != MAGIC or version != LAYOUT_VERSION:
            memory.close()
            raise ObsBlurError(f"shared memory {name} has layout {magic:#x} v{version}, expected v{LAYOUT_VERSION}")
        return cls(memory, owner=False)

    @property
    def name(self) -> str:
        return self._memory.name

    def fits(self, width: int, height: int) -> bool:
        return 0 < width <= self.max_size[0] and 0 < height <= self.max_size[1]

    # -- seqlock helpers ------------------------------------------------------------------------

    def _begin_write(self, lock: int) -> int:
        value = int(self._header[lock]) | 1
        self._header[lock] = value
        return value

    def _end_write(self, lock: int, value: int) -> None:
        self._header[lock] = value + 1

    def _read_consistent(self, lock: int, read: Callable[[], T]) -> Optional[T]:
        before = int(self._header[lock])
        if before & 1:
            return None
        value = read()
        return value if int(self._header[lock]) == before else None

    # -- frame slot (parent → worker) -----------------------------------------------------------

    def write_frame(self, seq: int, frame: np.ndarray, submitted_ns: int) -> None:
        height, width = frame.shape[:2]
        lock = self._begin_write(_FRAME_LOCK)
        header = self._header
        header[_FRAME_SEQ], header[_FRAME_WIDTH], header[_FRAME_HEIGHT] = seq, width, height
        header[_FRAME_SUBMITTED] = submitted_ns
        np.copyto(self._frame[: height * width * 4].reshape(height, width, 4), frame)
        self._end_write(_FRAME_LOCK, lock)

    def read_frame(self) -> Optional[FrameSlot]:
        return self._read_consistent(_FRAME_LOCK, self._copy_frame)

    def _copy_frame(self) -> Optional[FrameSlot]:
        header = self._header
        width, height = int(header[_FRAME_WIDTH]), int(header[_FRAME_HEIGHT])
        if not self.fits(width, height):
            return None
        frame = self._frame[: height * width * 4].reshape(height, width, 4).copy()
        return FrameSlot(int(header[_FRAME_SEQ]), frame, int(header[_FRAME_SUBMITTED]))

    # -- result slot (worker → parent) ----------------------------------------------------------

    def write_result(self, slot: ResultSlot) -> None:
        height, width = slot.mask.shape
        lock = self._begin_write(_RESULT_LOCK)
        header = self._header
        header[_RESULT_SEQ], header[_RESULT_WIDTH], header[_RESULT_HEIGHT] = slot.seq, width, height
        header[_RESULT_SUBMITTED] = slot.submitted_ns
        header[_RESULT_STARTED], header[_RESULT_FINISHED] = slot.started_ns, slot.finished_ns
        np.copyto(self._coefficients[: height * width * 2].reshape(height, width, 2), slot.coefficients)
        np.copyto(self._mask[: height * width].reshape(height, width), slot.mask)
        self._end_write(_RESULT_LOCK, lock)

    def read_result(self) -> Optional[ResultSlot]:
        return self._read_consistent(_RESULT_LOCK, self._copy_result)

    def _copy_result(self) -> Optional[ResultSlot]:
        header = self._header
        width, height = int(header[_RESULT_WIDTH]), int(header[_RESULT_HEIGHT])
        if not self.fits(width, height):
            return None
        return ResultSlot(
            seq=int(header[_RESULT_SEQ]),
            coefficients=self._coefficients[: height * width * 2].reshape(height, width, 2).copy(),
            mask=self._mask[: height * width].reshape(height, width).copy(),
            submitted_ns=int(header[_RESULT_SUBMITTED]),
            started_ns=int(header[_RESULT_STARTED]),
            finished_ns=int(header[_RESULT_FINISHED]),
        )

    # -- events hint (worker → parent) ----------------------------------------------------------

    def count_event(self) -> None:
        """Worker, after each event line: tells the parent its pipe has something to read."""
        self._header[_EVENTS_SENT] += 1

    def events_sent(self) -> int:
        return int(self._header[_EVENTS_SENT])

    # -- lifetime -------------------------------------------------------------------------------

    def unlink_name(self) -> None:
        """Remove the segment's name (owner only); both mappings stay valid until closed."""
        if self._owner and self._linked:
            self._linked = False
            with _untracked(), contextlib.suppress(FileNotFoundError):
                self._memory.unlink()

    def close(self) -> None:
        """Drop the numpy views (they pin the buffer) and unmap; the owner also unlinks."""
        self._header = self._frame = self._coefficients = self._mask = None  # type: ignore[assignment]
        self._memory.close()
        self.unlink_name()


# -- the child interpreter ----------------------------------------------------------------------


def interpreter_candidates(
    prefix: str = sys.prefix,
    base_prefix: str = sys.base_prefix,
    base_exec_prefix: str = sys.base_exec_prefix,
    version: tuple[int, int] = (sys.version_info[0], sys.version_info[1]),
    platform: str = sys.platform,
) -> list[Path]:
    """Interpreters that match the running one, best first.

    Inside OBS ``sys.executable`` is not the embedded interpreter (it was a pyenv shim in the spike),
    so it is never used. The embedded interpreter's installation is ``sys.base_exec_prefix``; its
    ``pythonX.Y`` binary there has the same major.minor, hence the same ABI for the private
    dependency folder. A virtual environment (the developer's tests) comes first because its
    interpreter is the same one plus the environment's packages.
    """
    major, minor = version
    windows = platform.startswith("win")
    candidates = []
    if prefix != base_prefix:
        venv = Path(prefix)
        candidates += [venv / "Scripts" / "python.exe"] if windows else [venv / "bin" / f"python{major}.{minor}"]
    base = Path(base_exec_prefix)
    if windows:
        candidates.append(base / "python.exe")
    else:
        candidates += [base / "bin" / f"python{major}.{minor}", base / "bin" / f"python{major}"]
    return candidates


def find_embedded_python() -> str:
    """Path of an interpreter matching OBS's embedded Python (``OBS_BLUR_PYTHON`` overrides)."""
    override = os.environ.get("OBS_BLUR_PYTHON")
    if override:
        if not Path(override).is_file():
            raise ObsBlurError(f"OBS_BLUR_PYTHON={override} is not a file: point it at a Python interpreter")
        return override
    candidates = interpreter_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    raise ObsBlurError(
        f"no Python {version} interpreter matching OBS's found (looked for {', '.join(map(str, candidates))}): "
        "set OBS_BLUR_PYTHON to its path"
    )


def worker_environment(base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The child's environment: OBS's Python settings removed, our code and dependencies first.

    OBS may set ``PYTHONHOME``/``PYTHONPATH`` for its embedded interpreter; a standalone interpreter
    given those can fail to start or import the wrong standard library, so both go. A dependency
    folder other users could plant code in is left out (the script refuses it too, and says why).
    """
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)
    paths = [str(REPO_ROOT)]
    dependencies = env.get("OBS_BLUR_PYDEPS")
    if dependencies and unsafe_code_folder(Path(dependencies)) is None:
        paths.append(dependencies)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


_sigpipe_shielded = threading.local()


def _shield_thread_from_sigpipe() -> None:
    """Writing to a dead worker's pipe must give EPIPE, never kill OBS with SIGPIPE.

    Python normally ignores SIGPIPE, but an embedding host may restore the default action; blocking
    the signal on the calling thread (the only one it is delivered to) is allowed from any thread.
    """
    if getattr(_sigpipe_shielded, "done", False) or not hasattr(signal, "SIGPIPE"):
        return
    _sigpipe_shielded.done = True
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})


# -- the pipes ----------------------------------------------------------------------------------


def _close_quietly(pipe: Optional[IO[bytes]]) -> None:
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()


class _NonBlockingPipes:
    """The worker's stdin and stdout made non-blocking: every read and write returns at once.

    POSIX pipes, and Windows pipes from Python 3.12 on. A read is a system call, which releases the
    GIL (see the module's note), so the client reads only when the events counter moved.
    """

    reads_cost_a_system_call = True

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._stdin, self._stdout = process.stdin, process.stdout
        os.set_blocking(self._stdin.fileno(), False)
        os.set_blocking(self._stdout.fileno(), False)

    @property
    def writable(self) -> bool:
        return not self._stdin.closed

    def write(self, data: bytes) -> Optional[int]:
        """Bytes the pipe took (0 when it is full), or None when the worker is gone."""
        if self._stdin.closed:
            return None
        _shield_thread_from_sigpipe()
        try:
            return os.write(self._stdin.fileno(), data)
        except BlockingIOError:
            return 0
        except OSError:
            return None

    def read(self) -> bytes:
        """Whatever the worker wrote so far; b"" when nothing is waiting."""
        if self._stdout.closed:
            return b""
        chunks = []
        while True:
            try:
                chunk = os.read(self._stdout.fileno(), _READ_CHUNK)
            except OSError:  # BlockingIOError: nothing more for now
                break
            chunks.append(chunk)
            if len(chunk) < _READ_CHUNK:
                break
        return b"".join(chunks)

    def read_last_words(self) -> bytes:
        """What an ended worker wrote before it ended: all of it is in the pipe already."""
        return self.read()

    def close(self) -> None:
        """End of input for the worker, and no more reading."""
        _close_quietly(self._stdin)
        _close_quietly(self._stdout)

    def join(self, timeout_s: float) -> None:
        """Nothing runs on behalf of these pipes."""


class _ThreadedPipes:
    """The worker's pipes where they cannot be made non-blocking (Windows before Python 3.12).

    A reader thread waits in the blocking read and keeps what arrives; a writer thread does the
    blocking writes. The caller only hands bytes over and takes what arrived, so it never waits for
    the worker: a write the writer has not finished counts as a full pipe, as with non-blocking
    pipes. Both threads wait without the GIL (in a system call or on a queue) and hold it only for
    moments, a few times per mask, so OBS's threads barely notice them. Each thread closes its own
    pipe: on Windows, closing a handle another thread is blocked on is not safe.
    """

    reads_cost_a_system_call = False

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._stdin, self._stdout = process.stdin, process.stdout
        self._arrived: deque[bytes] = deque()
        self._outgoing: queue.SimpleQueue[Optional[bytes]] = queue.SimpleQueue()
        self._handed = 0  # writes handed to the writer; counted by the caller's thread only
        self._finished = 0  # writes the writer finished; counted by the writer thread only
        self._closing = False
        self._broken = False
        self._reader = threading.Thread(target=self._read_until_the_end, name="obs-blur worker events", daemon=True)
        self._writer = threading.Thread(target=self._write_until_closed, name="obs-blur worker commands", daemon=True)
        self._reader.start()
        self._writer.start()

    @property
    def writable(self) -> bool:
        return not (self._closing or self._broken)

    def write(self, data: bytes) -> Optional[int]:
        """Bytes handed to the writer (0 while it still writes the previous ones), or None when the worker is gone."""
        if not self.writable:
            return None
        if self._handed != self._finished:
            return 0
        self._handed += 1
        self._outgoing.put(bytes(data))
        return len(data)

    def read(self) -> bytes:
        """Whatever the reader received so far; b"" when nothing is waiting."""
        chunks = []
        with contextlib.suppress(IndexError):
            while True:
                chunks.append(self._arrived.popleft())
        return b"".join(chunks)

    def read_last_words(self) -> bytes:
        """What an ended worker wrote before it ended: the reader gets it, then the end, at once."""
        self._reader.join(_LAST_WORDS_S)
        return self.read()

    def close(self) -> None:
        """End of input for the worker once the writer is done; the reader stops at the worker's end."""
        if not self._closing:
            self._closing = True
            self._outgoing.put(None)

    def join(self, timeout_s: float) -> None:
        """Wait for both threads (after the worker ended, they end at once)."""
        self._writer.join(timeout_s)
        self._reader.join(timeout_s)

    def _read_until_the_end(self) -> None:
        try:
            while True:
                chunk = os.read(self._stdout.fileno(), _READ_CHUNK)
                if not chunk:
                    break
                self._arrived.append(chunk)
        except (OSError, ValueError):
            pass  # the worker is gone
        finally:
            _close_quietly(self._stdout)

    def _write_until_closed(self) -> None:
        try:
            while True:
                data = self._outgoing.get()
                if data is None:
                    break
                try:
                    while data:
                        data = data[os.write(self._stdin.fileno(), data) :]
                finally:
                    self._finished += 1
        except (OSError, ValueError):
            self._broken = True  # the worker is gone; the client notices by its exit
        finally:
            _close_quietly(self._stdin)


_Pipes = Union[_NonBlockingPipes, _ThreadedPipes]


def _open_pipes(process: subprocess.Popen[bytes]) -> _Pipes:
    """Non-blocking pipes where the OS and Python allow them, helper threads otherwise."""
    if hasattr(os, "set_blocking"):
        return _NonBlockingPipes(process)
    return _ThreadedPipes(process)


def rotate_log(path: Path, limit: int = LOG_ROTATE_BYTES) -> None:
    """Set a log of ``limit`` bytes or more aside as ``<name>.1`` (replacing the previous one).

    On Windows a file another worker still has open cannot be renamed: it is then kept, and the
    workers' own limit (``--log-limit``) stops it from growing.
    """
    try:
        if path.stat().st_size >= limit:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


# -- the client ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker should run; re-sent verbatim after a restart."""

    model: Optional[str]
    device: str
    threads: Optional[int]
    smoothing: Optional[float]  # None: the pipeline's default
    softness: Optional[float]  # None: the refinement's default

    @property
    def model_key(self) -> tuple[Optional[str], str, Optional[int]]:
        """What needs a model reload when it changes (smoothing and softness do not)."""
        return (self.model, self.device, self.threads)


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

    @property
    def capture_size(self) -> tuple[int, int]:
        return (self.mask.shape[1], self.mask.shape[0])

    @property
    def latency_ms(self) -> float:
        """Submit → copied out by the caller."""
        return (self.received_ns - self.submitted_ns) / 1e6


class MaskWorkerClient:
    """Runs ``obs_blur.mask_worker`` and exchanges frames and masks with it without blocking."""

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
        self.state = "stopped"  # stopped, starting, loading, ready, error, restarting
        self.status = "stopped"
        self.fault = ""  # why it fails, without the retry delay: the same fault again is not news
        self.dropped_frames = 0
        self.restarts = 0
        self.provider = ""
        self.model: Optional[str] = None
        self.stats: dict[str, float] = {}
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._pipes: Optional[_Pipes] = None
        self._block: Optional[SharedBlock] = None
        self._dying: list[subprocess.Popen[bytes]] = []
        self._config: Optional[WorkerConfig] = None
        self._config_id = 0
        self._loaded_key: Optional[tuple[Optional[str], str, Optional[int]]] = None
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._next_seq = 1
        self._outstanding: Optional[int] = None
        self._outstanding_since = 0.0
        self._announced: tuple[int, str] = (0, "")
        self._returned_seq = 0
        self._backoff_s = FIRST_BACKOFF_S
        self._restart_at: Optional[float] = None
        self._worker_failure = ""  # why the worker is about to exit, when it said so
        self._events_seen = -1  # the worker's events-sent counter when the pipe was last read
        self._liveness_checked = 0.0

    # -- public API -----------------------------------------------------------------------------

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def accepts_frames(self) -> bool:
        """Whether :meth:`submit` would take a frame now: lets the caller skip reading one back for nothing."""
        return self._block is not None and self.ready and self._outstanding is None and not self._outbox

    @property
    def last_submitted_seq(self) -> int:
        """Sequence number of the newest frame :meth:`submit` accepted (0 before the first); results carry it."""
        return self._next_seq - 1

    def start(self) -> None:
        """Start the worker process (a fork/exec: milliseconds, no waiting for it to come up)."""
        if self._process is None:
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

        ``None`` means the default (the default model; the pipeline's smoothing and softness), so
        the defaults live in one place. Only a new model, device or thread count reloads the model.
        """
        config = WorkerConfig(
            model,
            device,
            threads,
            None if smoothing is None else float(smoothing),
            None if softness is None else float(softness),
        )
        self._config = config
        self._config_id += 1
        if self._process is None:
            return
        self._send_configure()
        if config.model_key != self._loaded_key or self.state != "ready":
            self._show_loading()

    def submit(self, frame_bgra: np.ndarray) -> bool:
        """Hand a capture-size BGRA frame to the worker; False (frame dropped) while it is busy."""
        self._check_frame(frame_bgra)
        self._read_events()
        block = self._block
        if block is None or not self.ready or self._outstanding is not None or self._outbox:
            self.dropped_frames += 1
            return False
        seq = self._next_seq
        block.write_frame(seq, frame_bgra, clock_ns())
        if not self._send({"cmd": "frame", "seq": seq}, droppable=True):
            self.dropped_frames += 1
            return False
        self._next_seq += 1
        self._outstanding, self._outstanding_since = seq, clock_s()
        return True

    def latest_result(self) -> Optional[Result]:
        """The newest completed mask not returned before, copied out; None if there is none."""
        self._read_events()
        seq, model = self._announced
        if seq <= self._returned_seq or self._block is None:
            return None
        slot = self._block.read_result()
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
        )

    def poll(self) -> None:
        """Read events, notice a dead or hung worker, and restart it when its back-off is over."""
        self._reap_dying()
        if self._process is None:
            if self._restart_at is not None and clock_s() >= self._restart_at:
                self._spawn()
            return
        self._flush_outbox()
        self._read_events()
        exit_code = self._exit_code()
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
        if self._process is not None and self._pipes is not None:
            self._send({"cmd": "quit"}, droppable=True)
            self._pipes.close()  # end of input: the worker exits even if "quit" did not fit

    def stop(self) -> None:
        """Quit the worker (kill it after 1 s), reap every child, and free the shared memory."""
        self.request_stop()
        process, pipes = self._process, self._pipes
        self._process = self._pipes = None
        if process is not None:
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill(process)
                process.wait()
            self._dying.append(process)
        for dying in self._dying:
            _kill(dying)
            dying.wait()
        self._dying.clear()
        if pipes is not None:
            pipes.join(STOP_GRACE_S)
        self._release_block()
        self.state = self.status = "stopped"

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
        """Segment, process, pipes, first configure; each is kept on ``self`` at once, for ``_undo_launch``."""
        python = self.python_executable or find_embedded_python()
        self._block = SharedBlock.create(self.max_capture)
        process = self._popen(python, self._block.name)
        self._pipes = _open_pipes(process)
        self._reset_exchange()
        log.info("mask worker %d started (%s)", process.pid, python)
        if self._config is None:
            self.state, self.status = "starting", "worker started; no model chosen yet"
        else:
            self._send_configure()
            self._show_loading()

    def _undo_launch(self) -> None:
        """Kill and reap a worker that never got going, close its pipes and free its segment."""
        process, pipes = self._process, self._pipes
        self._process = self._pipes = None
        if process is not None:
            _kill(process)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._dying.append(process)  # reaped by a later poll
        if pipes is not None:
            pipes.close()
        elif process is not None:
            _close_quietly(process.stdin)
            _close_quietly(process.stdout)
        self._release_block()
        self._reset_exchange()

    def _popen(self, python: str, shm_name: str) -> subprocess.Popen[bytes]:
        """Start the child, kept in ``self._process`` at once; its stderr goes to ``stderr_log`` or ours.

        Kept before anything else can fail (even closing the log file here), so ``_undo_launch``
        always finds the child.
        """
        command = [python, "-m", "obs_blur.mask_worker", "--shm", shm_name]
        with contextlib.ExitStack() as stack:
            stderr = None
            if self.stderr_log is not None:
                self.stderr_log.parent.mkdir(parents=True, exist_ok=True)
                rotate_log(self.stderr_log)
                stderr = stack.enter_context(self.stderr_log.open("ab"))
                command += ["--log-limit", str(LOG_LIMIT_BYTES)]
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=worker_environment(),
                close_fds=True,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
        return self._process

    def _reset_exchange(self) -> None:
        self._inbox.clear()
        self._outbox.clear()
        self._outstanding = None
        self._announced = (self._returned_seq, "")
        self._loaded_key = None
        self._worker_failure = ""
        self._events_seen = -1
        self.stats = {}

    def _lose_worker(self, reason: str) -> None:
        """Kill what is left of the worker and schedule a fresh one after the back-off."""
        process, pipes = self._process, self._pipes
        self._process = self._pipes = None
        if process is not None:
            _kill(process)
            self._dying.append(process)
        if pipes is not None:
            pipes.close()
        self._release_block()
        self._reset_exchange()
        self.restarts += 1
        log.warning("%s", reason)
        self._schedule_restart(reason)

    def _schedule_restart(self, reason: str) -> None:
        delay = self._backoff_s
        self._backoff_s = min(delay * 2, MAX_BACKOFF_S)
        self._restart_at = clock_s() + delay
        self.fault = reason
        self.state, self.status = "restarting", f"{reason}; restarting in {delay:g} s{self._log_hint()}"

    def _log_hint(self) -> str:
        """Where the worker's own account of a fault is, when its stderr goes to a file."""
        return f"; worker log: {self.stderr_log}" if self.stderr_log is not None else ""

    def _exit_code(self) -> Optional[int]:
        """The worker's exit code once it ended; asks the OS at most every LIVENESS_INTERVAL_S."""
        now = clock_s()
        if self._process is None or now - self._liveness_checked < LIVENESS_INTERVAL_S:
            return None
        self._liveness_checked = now
        return self._process.poll()

    def _is_hung(self) -> bool:
        return (
            self.state == "ready"
            and self._outstanding is not None
            and clock_s() - self._outstanding_since > self.hang_timeout_s
        )

    def _reap_dying(self) -> None:
        self._dying = [process for process in self._dying if process.poll() is None]

    def _release_block(self) -> None:
        if self._block is not None:
            self._block.close()
            self._block = None

    # -- pipes ----------------------------------------------------------------------------------

    def _send_configure(self) -> None:
        config = self._config
        assert config is not None
        message = {"cmd": "configure", "id": self._config_id, **config.__dict__}
        self._send(message, droppable=False)

    def _send(self, message: dict[str, Any], droppable: bool) -> bool:
        """Write one JSON line without blocking.

        A full pipe means the worker is stuck: droppable messages (frame wake-ups) are dropped, the
        rest wait in the outbox for :meth:`poll`. Lines this short are written atomically.
        """
        pipes = self._pipes
        if pipes is None or not pipes.writable:
            return False
        line = json.dumps(message).encode() + b"\n"
        if self._outbox:
            if droppable:
                return False
            self._outbox += line
            return True
        written = pipes.write(line)
        if written is None:
            return False  # the worker is gone; poll() notices and restarts it
        if written == 0 and droppable:
            return False
        self._outbox += line[written:]
        return True

    def _flush_outbox(self) -> None:
        pipes = self._pipes
        if not self._outbox or pipes is None:
            return
        written = pipes.write(bytes(self._outbox))
        if written:
            del self._outbox[:written]

    def _read_events(self, everything: bool = False) -> None:
        """Handle the worker's pending events; skips a costly read when the counter says there are none."""
        pipes, block = self._pipes, self._block
        if pipes is None:
            return
        if pipes.reads_cost_a_system_call and block is not None and not everything:
            sent = block.events_sent()
            if sent == self._events_seen:
                return
            self._events_seen = sent  # read before the pipe: a later event moves it again
        self._inbox += pipes.read_last_words() if everything else pipes.read()
        if b"\n" not in self._inbox:
            if len(self._inbox) > _MAX_PENDING_EVENT_BYTES:
                self._inbox.clear()
            return
        *lines, rest = bytes(self._inbox).split(b"\n")
        self._inbox[:] = rest
        for line in lines:
            self._handle_line(line)

    # -- events ---------------------------------------------------------------------------------

    def _handle_line(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            log.warning("mask worker sent a line that is not a JSON event: %r", line[:200])
            return
        handler = self._EVENT_HANDLERS.get(event.get("event"))
        if handler is not None:
            handler(self, event)

    def _on_attached(self, _event: dict[str, Any]) -> None:
        if self._block is not None:
            self._block.unlink_name()

    def _on_ready(self, event: dict[str, Any]) -> None:
        if event.get("id") != self._config_id or self._config is None:
            return  # answers a configuration that has since been replaced
        self.state = "ready"
        self._loaded_key = self._config.model_key
        self.model = event.get("model")
        self.provider = str(event.get("provider", ""))
        self._show_ready()

    def _on_error(self, event: dict[str, Any]) -> None:
        message = str(event.get("message", "unknown error"))
        during = event.get("during")
        if during == "frame":
            self.status = f"mask error: {message}"
        elif during == "configure":
            if event.get("id") == self._config_id:
                self.state, self.status = "error", f"model error: {message}{self._log_hint()}"
                self.fault = self.status
                self._loaded_key = None
        else:
            self._worker_failure = message
        log.warning("mask worker: %s", message)

    def _on_done(self, event: dict[str, Any]) -> None:
        seq = int(event.get("seq", 0))
        if seq == self._outstanding:
            self._outstanding = None
        if event.get("ok") and seq > self._announced[0]:
            self._announced = (seq, str(event.get("model", "")))
            self._backoff_s = FIRST_BACKOFF_S  # a mask came back: the worker is healthy again

    def _on_stats(self, event: dict[str, Any]) -> None:
        self.stats = {key: float(event[key]) for key in ("ms_per_mask", "masks_per_s") if key in event}
        if self.ready:
            self._show_ready()

    _EVENT_HANDLERS: ClassVar[dict[str, Callable[[MaskWorkerClient, dict[str, Any]], None]]] = {
        "attached": _on_attached,
        "ready": _on_ready,
        "error": _on_error,
        "done": _on_done,
        "stats": _on_stats,
    }

    # -- status ---------------------------------------------------------------------------------

    def _show_loading(self) -> None:
        assert self._config is not None
        self.state, self.status = "loading", f"loading model {self._config.model or 'default'}…"

    def _show_ready(self) -> None:
        text = f"ready: {self.provider}"
        if self.stats:
            text += f", {self.stats['ms_per_mask']:.1f} ms per mask, {self.stats['masks_per_s']:.0f} masks/s"
        self.status = text

    def _check_frame(self, frame: np.ndarray) -> None:
        """A wrong frame is a programming error in the caller: say so at once."""
        if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
            raise ValueError(f"submit() takes a BGRA uint8 frame, got shape {frame.shape} {frame.dtype}")
        width, height = self.max_capture
        if not (0 < frame.shape[1] <= width and 0 < frame.shape[0] <= height):
            raise ValueError(f"frame of {frame.shape[1]}x{frame.shape[0]} exceeds max_capture {width}x{height}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a child even if it is stopped (SIGSTOP): continue it first so nothing lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        if hasattr(signal, "SIGCONT"):
            os.kill(process.pid, signal.SIGCONT)
        process.kill()
