"""Messages over the worker's pipes, client side: commands out, events in, without ever waiting.

A full pipe means the worker is busy or stuck: a droppable command (a frame wake-up) is dropped,
any other waits in a backlog that :meth:`Channel.flush` retries. Lines this short are written
atomically, so the worker never sees half a command.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from obs_blur.worker.pipes import Pipes
from obs_blur.worker.protocol import Command, Event, MalformedLine, decode_event, encode

log = logging.getLogger(__name__)

#: Bytes without a newline kept while waiting for the rest of an event; more is garbage, dropped.
_MAX_PENDING_EVENT_BYTES = 1 << 20


class Channel:
    """One worker's command and event lines; ``events_sent`` reads the worker's counter in shared memory."""

    def __init__(self, pipes: Pipes, events_sent: Callable[[], int]) -> None:
        self._pipes = pipes
        self._events_sent = events_sent
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._events_seen = -1  # the counter when the pipe was last read

    @property
    def backlog(self) -> bool:
        """Commands wait for room in the pipe: the worker has not read the ones before."""
        return bool(self._outbox)

    def send(self, command: Command, droppable: bool) -> bool:
        """Write one command line; False when it was dropped or the worker is gone."""
        if not self._pipes.writable:
            return False
        line = encode(command)
        if self._outbox:
            if droppable:
                return False
            self._outbox += line
            return True
        written = self._pipes.write(line)
        if written is None:
            return False  # the worker is gone; the client notices by its exit and restarts it
        if written == 0 and droppable:
            return False
        self._outbox += line[written:]
        return True

    def flush(self) -> None:
        """Write what the backlog holds, as far as the pipe takes it."""
        if not self._outbox:
            return
        written = self._pipes.write(bytes(self._outbox))
        if written:
            del self._outbox[:written]

    def receive(self, everything: bool = False) -> list[Event]:
        """The events that arrived, oldest first; ``everything``: the worker ended, take its last words too.

        Where a read is a system call (and so a GIL hand-back), the pipe is read only when the
        worker's events counter moved.
        """
        if self._pipes.reads_cost_a_system_call and not everything:
            sent = self._events_sent()
            if sent == self._events_seen:
                return []
            self._events_seen = sent  # read before the pipe: a later event moves it again
        self._inbox += self._pipes.read_last_words() if everything else self._pipes.read()
        if b"\n" not in self._inbox:
            if len(self._inbox) > _MAX_PENDING_EVENT_BYTES:
                self._inbox.clear()
            return []
        *lines, rest = bytes(self._inbox).split(b"\n")
        self._inbox[:] = rest
        return [event for event in map(_decoded, lines) if event is not None]

    def close(self) -> None:
        """End of input for the worker: it exits even if a ``quit`` did not fit into the pipe."""
        self._pipes.close()

    def join(self, timeout_s: float) -> None:
        """Wait for whatever runs on behalf of the pipes (helper threads) to end."""
        self._pipes.join(timeout_s)


def _decoded(line: bytes) -> Optional[Event]:
    try:
        return decode_event(line)
    except MalformedLine:
        log.warning("mask worker sent a line that is not a JSON event: %r", line[:200])
        return None
