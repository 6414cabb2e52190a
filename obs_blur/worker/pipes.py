"""The worker's stdin and stdout, read and written without ever making the caller wait.

Two implementations with one interface: :class:`NonBlockingPipes` (POSIX, and Windows from Python
3.12, which has ``os.set_blocking`` for pipes) and :class:`ThreadedPipes`, two helper threads doing
the blocking calls where pipes cannot be made non-blocking. :func:`open_pipes` picks one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
from collections import deque
from typing import IO, Optional, Union

_READ_CHUNK = 65536
#: How long a crashed worker's last words may take to reach the reader thread (threaded pipes only).
_LAST_WORDS_S = 0.1

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


def close_quietly(pipe: Optional[IO[bytes]]) -> None:
    """Close a pipe whose other end may be gone."""
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()


class NonBlockingPipes:
    """The worker's stdin and stdout made non-blocking: every read and write returns at once.

    A read is a system call, which releases the GIL (inside OBS each re-acquisition can wait out a
    busy Python thread's switch interval), so the client reads only when the worker's events counter
    moved.
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
        close_quietly(self._stdin)
        close_quietly(self._stdout)

    def join(self, timeout_s: float) -> None:
        """Nothing runs on behalf of these pipes."""


class ThreadedPipes:
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
            close_quietly(self._stdout)

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
            close_quietly(self._stdin)


Pipes = Union[NonBlockingPipes, ThreadedPipes]


def open_pipes(process: subprocess.Popen[bytes]) -> Pipes:
    """Non-blocking pipes where the OS and Python allow them, helper threads otherwise."""
    if hasattr(os, "set_blocking"):
        return NonBlockingPipes(process)
    return ThreadedPipes(process)
