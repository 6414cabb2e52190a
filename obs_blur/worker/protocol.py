"""What the client and the worker process agree on: the command line, the messages, the clock.

Messages are JSON lines, one object each. Commands go to the worker's stdin with their name under
``"cmd"``, events come back on its stdout with their name under ``"event"``; the other keys are the
fields of the dataclasses below, and a field left out takes its default. :func:`encode`,
:func:`decode_command` and :func:`decode_event` are the only places where a line is built or read.
The client's own state (:class:`WorkerState`) is here too, so that the OBS layer reads it without
importing the client.
"""

from __future__ import annotations

import argparse
import json
import time
import typing
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, Callable, ClassVar, Literal, Optional, Union

from obs_blur.errors import ObsBlurError

#: The module the client runs with ``python -m``; process lists (and the OBS tests) find workers by it.
WORKER_MODULE = "obs_blur.mask_worker"


def clock_ns() -> int:
    """Now, in nanoseconds, on the one clock for every timestamp and duration of the worker and its client.

    ``time.perf_counter_ns``: ``time.monotonic_ns`` advances in 15.6 ms steps on Windows before
    Python 3.13, so a 5 ms mask would read 0 or 15.6 ms. perf_counter reads QueryPerformanceCounter on
    Windows and CLOCK_MONOTONIC on Linux (mach_absolute_time on macOS): system-wide counters without a
    per-process origin, so a stamp taken in the worker can be subtracted from one taken by the client.
    """
    return time.perf_counter_ns()


def clock_s() -> float:
    """:func:`clock_ns` in seconds, for deadlines and back-offs."""
    return clock_ns() / 1e9


def first_line(exc: BaseException) -> str:
    """One sentence for an error event or a status: an ObsBlurError as is, anything else by type and first line."""
    if isinstance(exc, ObsBlurError):
        return str(exc)
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


class WorkerState(str, Enum):
    """Where a worker client stands; the value is the word that status texts and the stats file show."""

    STOPPED = "stopped"
    STARTING = "starting"  # running, no model asked for yet
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"  # the model failed to load; the same worker waits for the next configure
    RESTARTING = "restarting"  # the worker was lost or failed to start; a new one comes after the back-off

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def failing(self) -> bool:
        """No masks come, so the filter passes the video through and its status says why."""
        return self in (WorkerState.ERROR, WorkerState.RESTARTING)


# -- commands (client → worker) --------------------------------------------------------------------


@dataclass(frozen=True)
class Configure:
    """Load (or keep) a model and apply the settings; answered by ``Ready`` or ``Error(during="configure")``.

    ``None`` means the default (the manifest's model, onnxruntime's thread count, the pipeline's
    smoothing, the refinement's softness), so each default lives in one place.
    """

    NAME: ClassVar[str] = "configure"
    id: int
    model: Optional[str] = None
    device: str = "auto"
    threads: Optional[int] = None
    smoothing: Optional[float] = None
    softness: Optional[float] = None

    @property
    def model_key(self) -> tuple[Optional[str], str, Optional[int]]:
        """What needs a model reload when it changes (smoothing and softness do not)."""
        return (self.model, self.device, self.threads)


@dataclass(frozen=True)
class Frame:
    """The frame slot holds frame ``seq``: compute its mask. Always answered by exactly one ``Done``."""

    NAME: ClassVar[str] = "frame"
    seq: int


@dataclass(frozen=True)
class Quit:
    """Exit now (the worker exits at the end of stdin too)."""

    NAME: ClassVar[str] = "quit"


@dataclass(frozen=True)
class UnknownCommand:
    """A command name the worker does not know: it answers with an error and carries on."""

    name: Any


Command = Union[Configure, Frame, Quit, UnknownCommand]

# -- events (worker → client) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    """The worker mapped the shared memory: the client may remove the segment's name."""

    NAME: ClassVar[str] = "attached"
    pid: int


@dataclass(frozen=True)
class Ready:
    """A model runs; sent again (``reloaded`` false) when a failing GPU was replaced by the CPU."""

    NAME: ClassVar[str] = "ready"
    id: int
    model: str
    provider: str
    load_ms: float
    reloaded: bool


@dataclass(frozen=True)
class Error:
    """Something failed; never fatal except ``during="attach"``, after which the worker exits."""

    NAME: ClassVar[str] = "error"
    during: Literal["attach", "configure", "frame", "command"]
    message: str
    id: Optional[int] = None  # the configure this answers (during="configure")


@dataclass(frozen=True)
class Done:
    """Frame ``seq`` is finished: its result is in the result slot when ``ok``; the frame slot is free."""

    NAME: ClassVar[str] = "done"
    seq: int
    ok: bool
    model: Optional[str] = None
    compute_ms: Optional[float] = None
    reason: Optional[str] = None  # why nothing was computed (``ok`` false)


@dataclass(frozen=True)
class Stats:
    """Mask timings over the last second or so, for the status line."""

    NAME: ClassVar[str] = "stats"
    ms_per_mask: float
    masks_per_s: float
    masks: int


Event = Union[Attached, Ready, Error, Done, Stats]

_COMMANDS: dict[str, type[Any]] = {cls.NAME: cls for cls in (Configure, Frame, Quit)}
_EVENTS: dict[str, type[Any]] = {cls.NAME: cls for cls in (Attached, Ready, Error, Done, Stats)}


class MalformedLine(ValueError):
    """A line that is not a message of this protocol."""


def encode(message: Union[Command, Event]) -> bytes:
    """One JSON line; fields that are ``None`` are left out, since the reader's default is the same."""
    line = {"cmd" if type(message) in _COMMANDS.values() else "event": message.NAME}  # type: ignore[union-attr]
    for name, _check in _SCHEMAS[type(message)]:
        value = getattr(message, name)
        if value is not None:
            line[name] = value
    return json.dumps(line).encode() + b"\n"


def decode_command(line: Union[bytes, str]) -> Command:
    """The command on ``line``; raises :class:`MalformedLine`."""
    data = _json_object(line)
    cls = _COMMANDS.get(data.get("cmd"))  # type: ignore[arg-type]
    return UnknownCommand(data.get("cmd")) if cls is None else _build(cls, data)


def decode_event(line: Union[bytes, str]) -> Optional[Event]:
    """The event on ``line``, None for an event this client does not know; raises :class:`MalformedLine`."""
    data = _json_object(line)
    cls = _EVENTS.get(data.get("event"))  # type: ignore[arg-type]
    return None if cls is None else _build(cls, data)


def _json_object(line: Union[bytes, str]) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MalformedLine(f"not a JSON object: {line[:200]!r}")
    return data


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    """An instance of ``cls`` from a decoded line; absent or null fields take their defaults."""
    values = {name: check(data[name]) for name, check in _SCHEMAS[cls] if data.get(name) is not None}
    try:
        return cls(**values)
    except TypeError:
        raise MalformedLine(f"{cls.NAME} lacks a field: {data!r}"[:300]) from None


# -- field checks: a line either matches the dataclass or is refused -----------------------------


def _checker(hint: Any) -> Callable[[Any], Any]:
    """A function that returns a JSON value as the field's type, or raises MalformedLine."""
    if typing.get_origin(hint) is Union:  # Optional[X]: None never reaches the check
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is Literal:
        return lambda value: _accept(value, value in typing.get_args(hint))
    if hint is float:
        return lambda value: float(_accept(value, isinstance(value, (int, float)) and not isinstance(value, bool)))
    if hint is int:
        return lambda value: _accept(value, isinstance(value, int) and not isinstance(value, bool))
    if hint in (str, bool):
        return lambda value: _accept(value, isinstance(value, hint))
    return lambda value: value


def _accept(value: Any, valid: bool) -> Any:
    if not valid:
        raise MalformedLine(f"unexpected value {value!r}"[:300])
    return value


def _schema(cls: type[Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((field.name, _checker(hints[field.name])) for field in fields(cls))


_SCHEMAS = {cls: _schema(cls) for cls in (*_COMMANDS.values(), *_EVENTS.values())}


# -- the worker's command line ---------------------------------------------------------------------


def worker_command(python: str, shm_name: str, log_limit: int = 0) -> list[str]:
    """The argv that starts a worker on segment ``shm_name``; ``log_limit`` > 0: its stderr is a file."""
    command = [python, "-m", WORKER_MODULE, "--shm", shm_name]
    if log_limit > 0:
        command += ["--log-limit", str(log_limit)]
    return command


def parse_worker_arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    """The worker's side of :func:`worker_command`."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {WORKER_MODULE}",
        description="The mask worker: a child process that turns capture-size frames into refinement coefficients.",
    )
    parser.add_argument("--shm", required=True, help="name of the shared-memory segment the parent created")
    parser.add_argument(
        "--log-limit", type=int, default=0, help="stderr is a log file: add no lines once it holds this many bytes"
    )
    return parser.parse_args(argv)
