"""The worker's log file, where OBS's own stderr reaches nobody: set aside when large, capped while written.

The client chooses the file and rotates it as it starts a worker (:func:`rotate_log`); the worker
caps what it adds (:class:`LimitedLogHandler`), because one failing on every frame writes a line
30 times a second.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import IO, Optional

#: A worker log file this large is set aside as ``<name>.1`` when the next worker starts.
LOG_ROTATE_BYTES = 1 << 20
#: Workers stop adding log lines to a file this large (one that failing frames would fill 30 times a second).
LOG_LIMIT_BYTES = 2 << 20


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


class LimitedLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to stderr, a file, until the file holds ``limit`` bytes; then says so once and drops the rest.

    The file's size counts, not what this process wrote, so several workers sharing the file stop
    together.
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
    """Worker side: log lines go to stderr, OBS's own where it has one, else a file capped at ``log_limit`` bytes."""
    if log_limit <= 0:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="obs-blur worker %(process)d: %(message)s")
        return
    handler = LimitedLogHandler(log_limit)
    handler.setFormatter(logging.Formatter("%(asctime)s obs-blur worker %(process)d: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
