"""A dependency-free progress bar on stderr, so long CLI work shows it is alive."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    """``with Progress(total, "frames") as bar: bar.advance()``; redraws at most 10 times a second.

    On a terminal it redraws one line; when stderr is a file or pipe it prints only the final line,
    so logs stay readable.
    """

    def __init__(self, total: Optional[int], unit: str, stream: Optional[TextIO] = None) -> None:
        self.total = total if total and total > 0 else None
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self._draw(final=True)
        elif self._live:
            self.stream.write("\n")  # leave the partial bar on its own line above the error

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self._live and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(final=False)

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            filled = int(30 * min(self.done, self.total) / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            return f"[{bar}] {self.done}/{self.total} {self.unit} ({rate:.1f}/s)"
        return f"{self.done} {self.unit} ({rate:.1f}/s)"

    def _draw(self, final: bool) -> None:
        if not self._live and not final:
            return
        end = "\n" if final else ""
        prefix = "\r" if self._live else ""
        self.stream.write(prefix + self._line() + end)
        self.stream.flush()
