"""One worker process as the client holds it: the child, its shared-memory segment, its message channel.

The three are made together and freed together, here, whichever way a worker ends (a stop, a start
that failed half-way, a crash or a hang), so that no child, segment or pipe outlives the others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Optional

from obs_blur.worker.channel import Channel
from obs_blur.worker.interpreter import worker_environment
from obs_blur.worker.log_file import LOG_LIMIT_BYTES, rotate_log
from obs_blur.worker.pipes import close_quietly, open_pipes
from obs_blur.worker.protocol import Quit, clock_s, worker_command
from obs_blur.worker.shared_block import SharedBlock

STOP_GRACE_S = 1.0
#: How often the client asks the OS whether the worker still runs (a system call, hence a GIL hand-back).
LIVENESS_INTERVAL_S = 0.1


class WorkerProcess:
    """A worker being started, running, or ended; ``start`` keeps each part on ``self`` as soon as it exists."""

    def __init__(self, stderr_log: Optional[Path] = None) -> None:
        self.stderr_log = stderr_log
        self.block: Optional[SharedBlock] = None
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.channel: Optional[Channel] = None
        self._liveness_checked = 0.0

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    def start(self, python: str, max_capture: tuple[int, int]) -> None:
        """Segment, child, pipes. Whatever this raises, :meth:`abandon` finds and frees what exists."""
        self.block = SharedBlock.create(max_capture)
        process = self._popen(python, self.block.name)
        self.channel = Channel(open_pipes(process), self.block.events_sent)

    def exit_code(self) -> Optional[int]:
        """The child's exit code once it ended; asks the OS at most every LIVENESS_INTERVAL_S."""
        now = clock_s()
        if self.process is None or now - self._liveness_checked < LIVENESS_INTERVAL_S:
            return None
        self._liveness_checked = now
        return self.process.poll()

    def request_quit(self) -> None:
        """Ask the child to quit, without waiting: several workers then wind down at the same time."""
        if self.process is not None and self.channel is not None:
            self.channel.send(Quit(), droppable=True)
            self.channel.close()  # end of input: the worker exits even if "quit" did not fit

    def stop(self) -> None:
        """Quit, kill after STOP_GRACE_S, reap, and free the segment: waits up to about two seconds."""
        self.request_quit()
        if self.process is not None:
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                kill(self.process)
                self.process.wait()
        if self.channel is not None:
            self.channel.join(STOP_GRACE_S)
        self._release_block()

    def abandon(self) -> Optional[subprocess.Popen[bytes]]:
        """Free a worker that never got going; the child if it did not end within STOP_GRACE_S (reap it later)."""
        process = self.process
        if process is not None:
            kill(process)
            try:
                process.wait(timeout=STOP_GRACE_S)
                process = None
            except subprocess.TimeoutExpired:
                pass
        if self.channel is not None:
            self.channel.close()
        elif self.process is not None:
            close_quietly(self.process.stdin)
            close_quietly(self.process.stdout)
        self._release_block()
        return process

    def discard(self) -> Optional[subprocess.Popen[bytes]]:
        """Free a crashed or hung worker at once; the killed child is returned, to be reaped later."""
        if self.process is not None:
            kill(self.process)
        if self.channel is not None:
            self.channel.close()
        self._release_block()
        return self.process

    def _popen(self, python: str, shm_name: str) -> subprocess.Popen[bytes]:
        """Start the child, kept in ``self.process`` at once; its stderr goes to ``stderr_log`` or ours.

        Kept before anything else can fail (even closing the log file here), so :meth:`abandon`
        always finds the child.
        """
        with contextlib.ExitStack() as stack:
            stderr = None
            if self.stderr_log is not None:
                self.stderr_log.parent.mkdir(parents=True, exist_ok=True)
                rotate_log(self.stderr_log)
                stderr = stack.enter_context(self.stderr_log.open("ab"))
            self.process = subprocess.Popen(
                worker_command(python, shm_name, LOG_LIMIT_BYTES if self.stderr_log is not None else 0),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=worker_environment(),
                close_fds=True,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
        return self.process

    def _release_block(self) -> None:
        if self.block is not None:
            self.block.close()
            self.block = None


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a child even if it is stopped (SIGSTOP): continue it first so nothing lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        if hasattr(signal, "SIGCONT"):
            os.kill(process.pid, signal.SIGCONT)
        process.kill()
