"""What the lifecycle and soak checks count: a process's memory, open files, threads and children (Linux
/proc), and the leaks OBS reports when it exits.

A leak that no picture shows still ends a long stream: a file descriptor per worker start runs into
the process limit, a thread per filter slows everything down, RSS grows until the OOM killer steps in.
These numbers are what the tests compare before and after many cycles or a long run.

OBS counts the allocations of its own allocator (``bmalloc``: textures, effects, obs_data, sources...)
still live when it exits and logs ``Number of memory leaks: N``. Headless OBS 29 reports leaks
without any script loaded (measured: 1, and 1 more per scene-collection switch), so a test compares
the count with that of the same OBS doing the same without scripts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessSample:
    """One look at a process: resident memory, open file descriptors, threads."""

    rss_mb: float
    fds: int
    threads: int


def sample(pid: int) -> ProcessSample:
    """The process's RSS (``VmRSS``), its entries in ``/proc/PID/fd`` and ``/proc/PID/task``."""
    return ProcessSample(rss_mb(pid), len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")))


def rss_mb(pid: int) -> float:
    """Resident set size in MB (10^6 bytes, as the reports print it)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0  # a zombie has no memory left


def cpu_seconds(pid: int) -> float:
    """CPU time the process used so far (user + system, all its threads)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _stat_fields(pid: int) -> Optional[list[str]]:
    """The fields of /proc/PID/stat after the command name (state first); None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the command name may hold spaces and brackets


def children(pid: int) -> dict[int, str]:
    """``{child pid: state letter}`` of the direct children of ``pid`` ("Z" for a zombie)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found[int(entry.name)] = fields[0]
    return found


def still_present(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still have a process table entry: running, stopped, or a zombie nobody reaped."""
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def zombie_children(pid: int) -> list[int]:
    """Children of ``pid`` that exited and were never reaped (waitpid): each one a process table entry lost."""
    return sorted(child for child, state in children(pid).items() if state == "Z")


_LEAKS = re.compile(r"Number of memory leaks: (\d+)")


def reported_leaks(log: str) -> Optional[int]:
    """The leak count OBS logged at exit; None when it did not get that far."""
    found = _LEAKS.findall(log)
    return int(found[-1]) if found else None
