#!/usr/bin/env python3
"""What the Background Blur filter costs inside the real OBS Studio (headless: Xvfb + the machine's OpenGL).

    python tools/bench_obs.py [--sizes 1280x720 1920x1080] [--seconds 10] [--warmup 3] [--json FILE]

Per canvas size (30 fps), one OBS with one image source filling the canvas: scikit-image's
astronaut, a real photo, scaled to cover, as an animated GIF that moves it by one pixel per frame,
so every frame is new to the Background Blur filter as a camera's is (a still picture would leave
its worker idle) without a video decoder's cost in the figures. Measured over ``--seconds`` after a
warm-up, case by case:

* ``no filter``: the source alone, what OBS costs without us;
* ``filter blur``: ``obs_blur_filter`` with its default settings;
* ``filter mask``: mode ``mask`` (segmentation and the mask pass, no blur);
* ``filter blur while switching models``: default settings, ``model`` switched over obs-websocket
  every 2 s: the worst case for the render callback, since a model change must never stall OBS.

Columns, all over the window:

* **render ms** (median / p99 / max): our ``video_render`` callback, from the stats file the script
  writes when ``OBS_BLUR_STATS`` names one (``obs_blur/obs/stats_file.py``). Each write holds only
  the renders since the previous write, so the file is polled every 50 ms and every write is kept;
* **OBS frame ms**: GetStats ``averageFrameRenderTime``, OBS's own figure at the window's end;
* **fps**: (Δ rendered - Δ render-skipped) / Δt from GetStats' frame counters;
* **skipped**: Δ render-skipped + Δ output-skipped frames (output frames count only while an output runs);
* **OBS CPU %**: utime + stime of the OBS process from ``/proc/<pid>/stat``, normalised to all cores
  (100 % = every core busy), and GetStats ``cpuUsage`` (obs-websocket measures it since its previous
  GetStats, i.e. over the window, also normalised to all cores);
* **worker CPU %**: the same for OBS's child processes (the mask worker runs in its own process, so
  the OBS process alone would hide the inference cost);
* **mask age** (median, frames), **masks/s** and the **wait for a mask** (median / max ms per
  frame, ``obs_blur/mask_timing.py``) from the stats file.

llvmpipe renders on the CPU, so anything else running on the machine slows OBS down: the CPU that
processes outside this benchmark used (from ``/proc/stat``) is in the JSON, and a window where it
exceeded 10 % of the machine is measured again (``--retries``) and, if still disturbed, flagged
under the table.

The output starts with the command line and the machine (CPU, cores, OpenGL adapter from OBS's log)
so that it can be pasted into docs/PERFORMANCE.md as is. A missing stats file (a script without the
stats timer) leaves the stats columns empty and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obs_blur.segmentation.manifest import read_model_choices
from tests.obs.camera_video import picture_covering
from tests.obs.conftest import pydeps_for_tests
from tests.obs.harness import FILTER_KIND, HeadlessObs, ObsSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
CASES = ("no filter", "filter blur", "filter mask", "filter blur while switching models")
SOURCE = "Photo"
MOTION_FRAMES = 16
MOTION_FRAME_MS = 30  # GIF delays are in hundredths of a second: 3 is the nearest to 1/30 s
FILTER = "Background Blur"
FPS = 30
DASH = "\N{EN DASH}"  # an empty table cell
MODEL_SWITCH_INTERVAL_S = 2.0
#: The switching case alternates the two shipped models, starting from the default (BodyPix would need a download).
SWITCHED_MODELS = ("mediapipe-landscape", "mediapipe-general")
DISTURBED_PERCENT = 10.0  # others' CPU share above which a window is flagged
_NOTE_TEXT_CHARS = 110  # provider and status can be long sentences
_POLL_S = 0.05  # stats file: written every 0.5 s, so a 50 ms poll sees every write
_CPU_SAMPLE_S = 0.5  # process tree: catches a short-lived child's ticks before it exits
_READY_TIMEOUT_S = 30.0  # first filter: worker start and model load
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the machine ------------------------------------------------------------------------------------
def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def code_version() -> str:
    """The commit measured, marked when the working tree differs (other engineers' work in progress)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "obs_blur")
    return git("log", "-1", "--format=%h %s") + (" (+ uncommitted changes in obs_blur/)" if dirty else "")


def log_value(log: str, marker: str) -> str:
    """The rest of the first OBS log line containing ``marker``."""
    for line in log.splitlines():
        if marker in line:
            return line.split(marker, 1)[1].strip()
    return "unknown"


# --- CPU time from /proc ----------------------------------------------------------------------------
def _stat_fields(pid: int) -> Optional[list[str]]:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def cpu_ticks(pid: int) -> Optional[int]:
    """utime + stime of one process (all its threads), in clock ticks."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (the mask worker and anything it starts)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat (busy = not idle, not waiting on I/O)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class CpuShares:
    """CPU use over a window, each in % of all cores: OBS, its children, and everything on the machine."""

    obs: float
    children: float
    machine: float

    @property
    def others(self) -> float:
        """What processes outside this benchmark took: on a shared machine, the sign of disturbed numbers."""
        return max(0.0, self.machine - self.obs - self.children)


@dataclass
class CpuMeter:
    """CPU time of OBS and of its children over a window, sampled so that exited children still count.

    A child first seen after the window started was born in it: all its ticks count.
    """

    pid: int
    _first: dict[int, int] = field(default_factory=dict)
    _last: dict[int, int] = field(default_factory=dict)
    _started: float = 0.0
    _machine_started: tuple[int, int] = (0, 0)

    def start(self) -> None:
        self._started = time.monotonic()
        self._machine_started = machine_ticks()
        self._first, self._last = {}, {}
        for pid in (self.pid, *descendants(self.pid)):
            ticks = cpu_ticks(pid)
            if ticks is not None:
                self._first[pid] = self._last[pid] = ticks

    def sample(self) -> None:
        for pid in (self.pid, *descendants(self.pid)):
            ticks = cpu_ticks(pid)
            if ticks is not None:
                self._first.setdefault(pid, 0)
                self._last[pid] = ticks

    def shares(self) -> CpuShares:
        """CPU use since ``start``."""
        self.sample()
        elapsed = time.monotonic() - self._started
        busy, total = (now - then for now, then in zip(machine_ticks(), self._machine_started))
        used = {pid: (self._last[pid] - self._first[pid]) / _CLOCK_TICKS for pid in self._last}
        scale = 100.0 / (elapsed * (os.cpu_count() or 1))
        own = used.pop(self.pid, 0.0)
        return CpuShares(own * scale, sum(used.values()) * scale, 100.0 * busy / max(1, total))


# --- the stats file ---------------------------------------------------------------------------------
@dataclass
class StatsReader:
    """Reads each new write of the stats file once: every write holds only the renders since the one before."""

    path: Path
    _last_time: Optional[float] = None

    def exists(self) -> bool:
        return self.path.exists()

    def poll(self) -> Optional[dict[str, Any]]:
        """The file's content if it was rewritten since the last poll, else None."""
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent (not implemented, or not written yet)
        if content.get("time") == self._last_time:
            return None
        self._last_time = content.get("time")
        return content

    def latest_entry(self, filter_name: str) -> Optional[dict[str, Any]]:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return content.get("filters", {}).get(filter_name)


def _percentile(values: list[float], fraction: float) -> float:
    return float(np.percentile(np.asarray(values), fraction * 100))


# --- one measured window ----------------------------------------------------------------------------
@dataclass
class CaseResult:
    canvas: str
    case: str
    seconds: float
    obs_frame_ms: float
    fps: float
    render_skipped: int
    output_skipped: int
    obs_cpu_percent: float
    obs_cpu_usage_percent: float
    worker_cpu_percent: float
    others_cpu_percent: float  # processes outside this benchmark (other work on a shared machine)
    render_ms: Optional[dict[str, float]] = None  # median, p99, max, samples
    frames_counted: Optional[int] = None  # Δ "frames" in the stats file: how many renders the samples should be
    mask_age_frames: Optional[float] = None
    masks_per_s: Optional[float] = None
    mask_wait_ms: Optional[dict[str, float]] = None  # median, max per frame, share of frames that waited
    filter: dict[str, Any] = field(default_factory=dict)  # provider, model(s), status, pass-through share
    model_switches: int = 0
    attempts: int = 1  # windows measured for this case (more when other processes disturbed one)

    @property
    def skipped(self) -> int:
        return self.render_skipped + self.output_skipped


Tick = Callable[[float], None]  # called about every 50 ms with the seconds since the window started


def measure(run: HeadlessObs, canvas: str, case: str, seconds: float, stats: StatsReader, tick: Tick) -> CaseResult:
    """Run the window: GetStats and /proc at both ends, the stats file and the process tree throughout."""
    assert run.pid is not None
    meter = CpuMeter(run.pid)
    stats.poll()  # forget writes from before the window
    before = run.client.get_stats()
    meter.start()
    started, wall_started = time.monotonic(), time.time()
    writes: list[dict[str, Any]] = []
    next_cpu_sample = started + _CPU_SAMPLE_S
    while (now := time.monotonic()) < started + seconds:
        tick(now - started)
        content = stats.poll()
        if content is not None and content.get("time", 0) > wall_started:
            writes.append(content)
        if now >= next_cpu_sample:
            meter.sample()
            next_cpu_sample += _CPU_SAMPLE_S
        time.sleep(_POLL_S)
    after = run.client.get_stats()
    elapsed = time.monotonic() - started
    cpu = meter.shares()
    rendered = after.render_total_frames - before.render_total_frames
    render_skipped = after.render_skipped_frames - before.render_skipped_frames
    result = CaseResult(
        canvas=canvas,
        case=case,
        seconds=round(elapsed, 2),
        obs_frame_ms=round(after.average_frame_render_time, 3),
        fps=round((rendered - render_skipped) / elapsed, 2),
        render_skipped=render_skipped,
        output_skipped=after.output_skipped_frames - before.output_skipped_frames,
        obs_cpu_percent=round(cpu.obs, 1),
        obs_cpu_usage_percent=round(after.cpu_usage, 1),
        worker_cpu_percent=round(cpu.children, 1),
        others_cpu_percent=round(cpu.others, 1),
    )
    entries = [write["filters"][FILTER] for write in writes if FILTER in write.get("filters", {})]
    if entries:
        _add_filter_stats(result, entries)
    return result


def _add_filter_stats(result: CaseResult, entries: list[dict[str, Any]]) -> None:
    """Render times, mask age and rate, and what the filter says about itself, from the window's writes."""
    render_ms = [ms for entry in entries for ms in entry.get("render_ms", [])]
    if render_ms:
        result.render_ms = {
            "median": round(statistics.median(render_ms), 3),
            "p99": round(_percentile(render_ms, 0.99), 3),
            "max": round(max(render_ms), 3),
            "samples": len(render_ms),
        }
    frames_before = entries[0].get("frames", 0) - len(entries[0].get("render_ms", []))
    result.frames_counted = entries[-1].get("frames", 0) - frames_before
    waits = [ms for entry in entries for ms in entry.get("mask_wait_ms", [])]
    if waits:
        result.mask_wait_ms = {
            "median": round(statistics.median(waits), 3),
            "max": round(max(waits), 3),
            "waited_share": round(sum(ms > 0 for ms in waits) / len(waits), 3),
        }
    ages = [entry["mask_age_frames"] for entry in entries if entry.get("mask_age_frames") is not None]
    result.mask_age_frames = statistics.median(ages) if ages else None
    rates = [entry["masks_per_s"] for entry in entries if entry.get("masks_per_s") is not None]
    result.masks_per_s = round(statistics.median(rates), 2) if rates else None
    frames = entries[-1].get("frames", 0) - entries[0].get("frames", 0)
    passed = entries[-1].get("passthrough_frames", 0) - entries[0].get("passthrough_frames", 0)
    result.filter = {
        "provider": entries[-1].get("provider"),
        "models": sorted({str(entry.get("model")) for entry in entries}),
        "status": entries[-1].get("status"),
        "passthrough_share": round(passed / frames, 3) if frames > 0 else None,
        "mask_ms": entries[-1].get("mask_ms"),
    }


# --- one canvas -------------------------------------------------------------------------------------
def source_picture(width: int, height: int, still: bool, work: Path) -> Path:
    """The photo covering width x height: moving (an animated GIF) unless ``still`` (a PNG)."""
    photo = photo_covering(width, height)
    if still:
        path = work / f"photo-{width}x{height}.png"
        cv2.imwrite(str(path), photo)
        return path
    return moving_photo(photo, work / f"photo-{width}x{height}.gif")


def moving_photo(photo_bgr: np.ndarray, path: Path) -> Path:
    """The photo as an animated GIF that moves by one pixel per frame at 30 fps (OBS's image source
    plays it, decoding each frame once): every frame is new to the filter, as a camera's are."""
    from PIL import Image

    rgb = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2RGB)
    frames = [Image.fromarray(np.roll(rgb, shift, axis=1)).quantize(256) for shift in range(MOTION_FRAMES)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=MOTION_FRAME_MS, loop=0)
    return path


def photo_covering(width: int, height: int) -> np.ndarray:
    """scikit-image's astronaut (BGR) scaled to cover width x height and centre-cropped."""
    from skimage import data

    return picture_covering(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), width, height)


def check_switched_models() -> None:
    """Fail early if the manifest lost a model: the filter would quietly repair the setting to the default."""
    choices = read_model_choices()
    missing = [name for name in SWITCHED_MODELS if name not in choices.names]
    if missing:
        raise SystemExit(f"models/manifest.json offers {choices.names}; the switching case expects {SWITCHED_MODELS}")


def _no_tick(_: float) -> None:
    """Nothing to do during a plain window."""


@dataclass
class ModelSwitcher:
    """Sets the other shipped model at 0 s, 2 s, 4 s, ... of a window; knows the current model across windows."""

    run: HeadlessObs
    current: str = SWITCHED_MODELS[0]
    switches: int = 0  # in the latest window

    def window_tick(self) -> Tick:
        self.switches = 0

        def tick(elapsed: float) -> None:
            if elapsed >= self.switches * MODEL_SWITCH_INTERVAL_S:
                self.current = SWITCHED_MODELS[(SWITCHED_MODELS.index(self.current) + 1) % len(SWITCHED_MODELS)]
                self.run.client.set_source_filter_settings(SOURCE, FILTER, {"model": self.current}, True)
                self.switches += 1

        return tick


def wait_for_masks(stats: StatsReader, timeout_s: float) -> Optional[float]:
    """Seconds until the filter reports a mask in use (its model loaded), None on timeout or without stats."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        entry = stats.latest_entry(FILTER)
        if entry is not None and entry.get("mask_age_frames") is not None:
            return round(time.monotonic() - started, 1)
        if entry is None and not stats.exists() and time.monotonic() - started > 3:
            return None  # no stats file at all: nothing to wait for
        time.sleep(0.1)
    return None


@dataclass
class CanvasRun:
    canvas: str
    results: list[CaseResult]
    renderer: str
    obs_version: str
    first_mask_s: Optional[float]
    stats_file_written: bool
    python_errors: list[str]


def bench_canvas(width: int, height: int, args: argparse.Namespace, work: Path) -> CanvasRun:
    """One OBS at this canvas with the moving photo as its only source; the four cases in order."""
    canvas = f"{width}x{height}"
    stats = StatsReader(work / f"stats-{canvas}.json")
    photo_file = source_picture(width, height, args.still, work)
    environment = {"OBS_BLUR_STATS": str(stats.path)}
    settings = ObsSettings(width=width, height=height, fps=FPS, pydeps=pydeps_for_tests(), environment=environment)
    run = HeadlessObs(work / f"obs-{canvas}", settings).start()
    try:
        run.add_image_source(SOURCE, photo_file)
        results, first_mask_s = run_cases(run, canvas, args, stats)
        log, errors = run.log_text(), run.python_errors()
    finally:
        run.stop()
    return CanvasRun(
        canvas,
        results,
        renderer=log_value(log, "Loading up OpenGL on adapter"),
        obs_version=log_value(log, "info: OBS "),
        first_mask_s=first_mask_s,
        stats_file_written=stats.exists(),
        python_errors=errors,
    )


def run_cases(
    run: HeadlessObs, canvas: str, args: argparse.Namespace, stats: StatsReader
) -> tuple[list[CaseResult], Optional[float]]:
    """The cases of ``CASES`` on the running OBS; also how long the filter took to its first mask."""
    switcher = ModelSwitcher(run)

    def settle_and_measure(case: str, switching: bool = False) -> CaseResult:
        """Warm up, measure; measure again (up to ``--retries`` times) while other processes disturb the window."""
        time.sleep(args.warmup)
        for attempt in range(args.retries + 1):
            result = measure(run, canvas, case, args.seconds, stats, switcher.window_tick() if switching else _no_tick)
            result.attempts, result.model_switches = attempt + 1, switcher.switches if switching else 0
            if result.others_cpu_percent < DISTURBED_PERCENT:
                break
        return result

    def set_filter(settings: dict[str, Any]) -> None:
        run.client.set_source_filter_settings(SOURCE, FILTER, settings, True)

    results = [settle_and_measure("no filter")]
    # The first model by name, not ``auto``: every figure in a table comes from the same model.
    run.client.create_source_filter(SOURCE, FILTER, FILTER_KIND, {"model": SWITCHED_MODELS[0]})
    first_mask_s = wait_for_masks(stats, _READY_TIMEOUT_S)
    results.append(settle_and_measure("filter blur"))
    set_filter({"mode": "mask"})
    results.append(settle_and_measure("filter mask"))
    set_filter({"mode": "blur"})
    results.append(settle_and_measure("filter blur while switching models", switching=True))
    assert [result.case for result in results] == list(CASES)
    return results, first_mask_s


# --- output -----------------------------------------------------------------------------------------
TABLE_HEADER = (
    "canvas",
    "case",
    "render ms median / p99 / max",
    "OBS frame ms",
    "fps",
    "skipped",
    "OBS CPU % (/proc)",
    "OBS cpuUsage %",
    "worker CPU %",
    "mask age (frames)",
    "masks/s",
    "wait for mask ms median / max",
)


def or_dash(value: Any, form: str = "{}") -> str:
    return DASH if value is None else form.format(value)


def table_row(result: CaseResult) -> str:
    render = result.render_ms
    render_cell = DASH if render is None else f"{render['median']:.2f} / {render['p99']:.2f} / {render['max']:.2f}"
    wait = result.mask_wait_ms
    wait_cell = DASH if wait is None else f"{wait['median']:.2f} / {wait['max']:.2f}"
    cells = [
        result.canvas,
        result.case,
        render_cell,
        f"{result.obs_frame_ms:.2f}",
        f"{result.fps:.1f}",
        str(result.skipped),
        f"{result.obs_cpu_percent:.0f}",
        f"{result.obs_cpu_usage_percent:.0f}",
        f"{result.worker_cpu_percent:.0f}",
        or_dash(result.mask_age_frames, "{:g}"),
        or_dash(result.masks_per_s, "{:.1f}"),
        wait_cell,
    ]
    return "| " + " | ".join(cells) + " |"


def _shortened(text: Any) -> str:
    text = str(text)
    return text if len(text) <= _NOTE_TEXT_CHARS else text[: _NOTE_TEXT_CHARS - 1] + "\N{HORIZONTAL ELLIPSIS}"


def disturbance_note(result: CaseResult) -> Optional[str]:
    """A warning when other processes took the CPU during the window, a remark when a retry was needed."""
    where = f"{result.canvas} {result.case}"
    if result.others_cpu_percent >= DISTURBED_PERCENT:
        return (
            f"- **{where}: other processes used {result.others_cpu_percent:.0f} % of the CPU during the window "
            f"(last of {result.attempts} tries): these numbers are disturbed, re-run on a quiet machine.**"
        )
    if result.attempts > 1:
        return f"- {where}: measured on try {result.attempts} (other processes disturbed the earlier ones)."
    return None


def case_note(result: CaseResult) -> Optional[str]:
    """What the filter said about itself in this window (provider, model, pass-through share, coverage)."""
    if not result.filter:
        return None
    info = result.filter
    parts = [f"provider {_shortened(info['provider'])!r}", f"model {', '.join(info['models'])}"]
    if info.get("passthrough_share") is not None:
        parts.append(f"pass-through {info['passthrough_share']:.0%} of frames")
    if result.render_ms and result.frames_counted:
        parts.append(f"{result.render_ms['samples']} render samples / {result.frames_counted} renders")
    if result.model_switches:
        parts.append(f"model switched {result.model_switches}x")
    parts.append(f"last status {_shortened(info['status'])!r}")
    return f"- {result.canvas} {result.case}: " + "; ".join(parts)


def report(runs: list[CanvasRun], argv: list[str]) -> list[str]:
    renderers = sorted({run.renderer for run in runs})
    lines = [
        "$ " + " ".join(["python", "tools/bench_obs.py", *argv]),
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical cores, {memory_gib():.1f} GiB RAM; "
        f"renderer: {', '.join(renderers)}; OBS {', '.join(sorted({run.obs_version for run in runs}))}; "
        f"obs-blur {code_version()}",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "---|" * len(TABLE_HEADER),
    ]
    lines += [table_row(result) for run in runs for result in run.results]
    lines.append("")
    for run in runs:
        if not run.stats_file_written:
            lines.append(
                f"- {run.canvas}: no stats file: the script does not write OBS_BLUR_STATS (yet); render ms, "
                "mask age and masks/s are not available."
            )
        else:
            waited = "never within 30 s" if run.first_mask_s is None else f"after {run.first_mask_s} s"
            lines.append(f"- {run.canvas}: first mask in use {waited} of adding the filter.")
        lines += [note for note in map(disturbance_note, run.results) if note]
        lines += [note for note in map(case_note, run.results) if note]
        lines += [f"- {run.canvas}: Python error in the OBS log: {error}" for error in run.python_errors[:5]]
    return lines


def as_json(run: CanvasRun) -> dict[str, Any]:
    content = asdict(run)
    for result, entry in zip(run.results, content["results"]):
        entry["skipped"] = result.skipped
    return content


def parse_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"], help="canvas sizes, WIDTHxHEIGHT")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per case")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each window")
    parser.add_argument(
        "--retries", type=int, default=2, help="measure a case again when other processes disturbed its window"
    )
    parser.add_argument("--json", type=Path, help="also write all results as JSON to this file")
    parser.add_argument(
        "--still",
        action="store_true",
        help="a still photo instead of the moving one: the GPU passes cost the same, the worker idles",
    )
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _arguments(argv)
    check_switched_models()
    runs = []
    with tempfile.TemporaryDirectory(prefix="obs-blur-bench-") as work:
        for size in args.sizes:
            width, height = parse_size(size)
            runs.append(bench_canvas(width, height, args, Path(work)))
    print("\n".join(report(runs, argv)))
    if args.json:
        args.json.write_text(json.dumps([as_json(run) for run in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
