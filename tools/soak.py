#!/usr/bin/env python3
"""Does the Background Blur filter leak over a long stream? Memory, files, threads and processes over time.

    python tools/soak.py [--minutes 30 | --frames N] [--warmup 60] [--interval 60] [--control]
                         [--core-frames 54000] [--model NAME] [--skip-obs] [--skip-core] [--json FILE]

Two soaks, each printing a table of samples and a summary; run without options it is the full form,
30 minutes of 720p30 (54000 frames) through one filter:

* **OBS** (``--minutes``): a headless OBS (Xvfb + the machine's OpenGL) at 1280x720, 30 fps, one
  image source filling the canvas (scikit-image's astronaut, a real photo) with one Background Blur
  filter, default settings. OBS renders in real time, so 54000 frames take the full 30 minutes on
  a machine that keeps up; where the canvas lags (llvmpipe on few cores) OBS skips frames, the
  table shows the frames the filter really drew, and ``--frames 54000`` runs until it drew them.
  OBS runs as users run it, without the script's stats file (``OBS_BLUR_STATS``). From the first
  mask on, after ``--warmup`` seconds (caches filled) a sample every ``--interval`` seconds: OBS's
  RSS, open file descriptors and threads, the worker's RSS and descriptors, the number of worker
  processes, the frames OBS rendered (obs-websocket GetStats: rendered minus lagged, one filter
  draw each) and whether the filter composites (the picture differs from the photo). OBS's own RSS
  grows in steps too (Debian's OBS 29 on llvmpipe, 30 minutes: +11 MB with the filter, +17 MB for the same OBS without
  it); ``--control`` runs that second OBS beside the first, without the filter, and samples its RSS
  at the same moments, so that OBS's growth can be told apart from the filter's. At the
  end OBS is closed as a user would and the leak count it logs (``Number of memory leaks``: its own
  allocator's live allocations, textures and effects included) is compared with OBS alone: headless
  OBS 29 reports leaks without any script (see tests/obs/leak_checks.py), so a second, bare OBS is
  started and closed for the comparison.
* **core** (``--core-frames``): the worker client without OBS, as fast as the worker goes. Each
  frame, the photo at 1280x720 BGRA (mirrored every other frame), is reduced to the model's capture
  size (INTER_AREA, what the filter's GPU pass does) and handed to the worker as soon as it is free;
  its mask comes back before the next, so every frame is segmented. Samples every
  ``--core-frames / 20`` frames: this process's and the worker's RSS and descriptors.

Growth is measured from the first sample after the warm-up to the last one; "steady" growth is the
median step between samples times the steps, which a leak in the filter (it grows with every frame
or mask) shows and a one-off step of OBS's own memory does not. tests/obs/test_soak.py demands of its
short form a steady RSS growth under 10 MB, a whole one under 20 MB, and no descriptor or thread growth.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_obs import code_version, cpu_model, or_dash, photo_covering

from obs_blur.segmentation.capture import capture_size_for
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.worker.client import MaskWorkerClient
from tests.obs.conftest import pydeps_for_tests
from tests.obs.filter_checks import wait_until, worker_pids
from tests.obs.harness import FILTER_KIND, HeadlessObs, ObsSettings
from tests.obs.leak_checks import reported_leaks, rss_mb, sample, still_present

WIDTH, HEIGHT, FPS = 1280, 720, 30
SOURCE = "Photo"
FILTER = "Background Blur"
FIRST_MASK_TIMEOUT_S = 120.0
MASK_IN_USE_MIN_CHANGE = 2.0  # grey levels: the default blur changes the photo far more
WORKER_TIMEOUT_S = 120.0  # model load, and any single mask: a stuck worker ends the soak with a message


@dataclass
class Sample:
    """One row of a soak's table; ``None`` where the soak has no such number."""

    seconds: float
    frames: int  # frames through the filter (OBS: frames rendered since the first mask; core: frames segmented)
    rss_mb: float  # OBS, or this process in the core soak
    fds: int
    threads: int
    workers: int
    worker_rss_mb: Optional[float]
    worker_fds: Optional[int]
    mask_in_use: Optional[bool] = None  # OBS: the filter composites (a screenshot differs from the photo)
    control_rss_mb: Optional[float] = None  # OBS --control: the same OBS without the filter


@dataclass
class SoakResult:
    """A soak's samples and what it concluded; ``warm`` is the index of the first sample after the warm-up."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    warm: int = 0
    worker_pids: list[int] = field(default_factory=list)  # every worker pid seen: more than one is a restart
    leaks: Optional[int] = None
    leaks_of_obs_alone: Optional[int] = None
    python_errors: list[str] = field(default_factory=list)
    leftover_workers: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.samples[-1].seconds if self.samples else 0.0

    @property
    def frames(self) -> int:
        return self.samples[-1].frames if self.samples else 0

    def growth(self, metric: str) -> Optional[float]:
        """Last sample minus the first after the warm-up (None when the soak has no such number)."""
        first, last = getattr(self.samples[self.warm], metric), getattr(self.samples[-1], metric)
        return None if first is None or last is None else last - first

    def steady_growth(self, metric: str) -> Optional[float]:
        """The median step between samples after the warm-up, times the steps: growth that goes on.

        A leak in the filter grows with every frame or mask, so every step shows it; memory that a
        process takes once (OBS's own allocations come in such steps) moves one step only.
        """
        values = [getattr(sample, metric) for sample in self.samples[self.warm :]]
        if len(values) < 2 or any(value is None for value in values):
            return None
        steps = [later - earlier for earlier, later in zip(values, values[1:])]
        return statistics.median(steps) * len(steps)


# --- the OBS soak ---------------------------------------------------------------------------------
def obs_soak(
    seconds: float,
    warmup_s: float,
    interval_s: float,
    work: Path,
    until_frames: Optional[int] = None,
    control: bool = False,
    echo: Callable[[str], None] = print,
) -> SoakResult:
    """One filter in a real OBS for ``seconds`` after ``warmup_s``; a sample every ``interval_s``.

    ``until_frames``: run until the filter drew that many frames after the warm-up instead.
    ``control``: sample the RSS of a second OBS, the same without the filter, too.
    """
    photo = work / "photo-720p.png"
    cv2.imwrite(str(photo), photo_covering(WIDTH, HEIGHT))
    no_stats_file = {"OBS_BLUR_STATS": ""}  # as users run it: the render times are never taken
    settings = ObsSettings(width=WIDTH, height=HEIGHT, fps=FPS, pydeps=pydeps_for_tests(), environment=no_stats_file)
    result = SoakResult("OBS")
    with contextlib.ExitStack() as stack:
        twin = _started(stack, HeadlessObs(work / "obs-control", settings)) if control else None
        if twin is not None:
            twin.add_image_source(SOURCE, photo)
        run = _started(stack, HeadlessObs(work / "obs", settings))
        _soak_in(run, twin, result, photo, (seconds, warmup_s, interval_s, until_frames), echo)
    result.leaks = reported_leaks(run.log_text())
    result.leftover_workers = still_present(result.worker_pids)  # running, or a zombie nobody reaped
    result.leaks_of_obs_alone = obs_alone_leaks(work / "obs-alone")
    return result


def _started(stack: contextlib.ExitStack, run: HeadlessObs) -> HeadlessObs:
    """``run`` started; closed (as a user would) when ``stack`` closes."""
    run.start()
    stack.callback(run.stop)
    return run


def _soak_in(
    run: HeadlessObs,
    twin: Optional[HeadlessObs],
    result: SoakResult,
    photo: Path,
    plan: tuple[float, float, float, Optional[int]],
    echo: Callable[[str], None],
) -> None:
    """The samples of ``obs_soak`` (``plan``: seconds, warm-up, interval, frames); OBS is closed after."""
    seconds, warmup_s, interval_s, until_frames = plan
    original = run.add_image_source(SOURCE, photo)
    run.client.create_source_filter(SOURCE, FILTER, FILTER_KIND, {})
    wait_until(lambda: _mask_in_use(run, original), "the first mask", FIRST_MASK_TIMEOUT_S)
    started, first_frame = time.monotonic(), _frames_rendered(run)
    length = f"{until_frames} frames" if until_frames is not None else f"{seconds:g} s"
    echo(f"OBS soak: first mask in use; warm-up {warmup_s:g} s, then {length}")
    result.samples.append(_obs_sample(run, twin, result, started, first_frame, original))
    _sleep_until(started + warmup_s)
    result.warm = len(result.samples)
    while True:
        result.samples.append(_obs_sample(run, twin, result, started, first_frame, original))
        echo(table_row(result.samples[-1]))
        if _obs_soak_done(result, warmup_s + seconds, until_frames):
            break
        _sleep_until(started + warmup_s + len(result.samples[result.warm :]) * interval_s)
    result.python_errors = run.python_errors()


def _obs_soak_done(result: SoakResult, seconds: float, until_frames: Optional[int]) -> bool:
    latest = result.samples[-1]
    if until_frames is not None:
        return latest.frames - result.samples[result.warm].frames >= until_frames
    return latest.seconds >= seconds - 0.5


def _mask_in_use(run: HeadlessObs, original: np.ndarray) -> bool:
    """The filter composites: the picture is no longer the photo (it is passed through until a mask).

    A screenshot, because users' OBS has no stats file and the status reaches the settings only when
    the dialog opens.
    """
    blurred = np.abs(run.screenshot(SOURCE).astype(np.int16) - original.astype(np.int16)).mean()
    return bool(blurred > MASK_IN_USE_MIN_CHANGE)


def _frames_rendered(run: HeadlessObs) -> int:
    """Frames OBS rendered so far (GetStats: total minus lagged); the filter draws once in each."""
    stats = run.client.get_stats()
    return int(stats.render_total_frames - stats.render_skipped_frames)


def _obs_sample(
    run: HeadlessObs,
    twin: Optional[HeadlessObs],
    result: SoakResult,
    started: float,
    first_frame: int,
    original: np.ndarray,
) -> Sample:
    assert run.pid is not None
    workers = worker_pids(run)
    for pid in workers:
        if pid not in result.worker_pids:
            result.worker_pids.append(pid)
    obs = sample(run.pid)
    worker = sample(workers[0]) if len(workers) == 1 else None
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        frames=_frames_rendered(run) - first_frame,
        rss_mb=obs.rss_mb,
        fds=obs.fds,
        threads=obs.threads,
        workers=len(workers),
        worker_rss_mb=worker.rss_mb if worker else None,
        worker_fds=worker.fds if worker else None,
        mask_in_use=_mask_in_use(run, original),
        control_rss_mb=rss_mb(twin.pid) if twin is not None and twin.pid is not None else None,
    )


def obs_alone_leaks(run_dir: Path, tries: int = 3) -> Optional[int]:
    """The leak count of the same OBS with no script at all, started and closed: the baseline.

    OBS logs the count as the last step of a clean exit; a run that one of OBS's own exit crashes
    ended before that (see ``UPSTREAM_EXIT_CRASHES`` in tests/obs/harness.py) says nothing, so the
    baseline is the first of up to ``tries`` runs that logged one.
    """
    for _ in range(tries):
        run = HeadlessObs(run_dir, ObsSettings(width=WIDTH, height=HEIGHT, fps=FPS, script_loads=0)).start()
        time.sleep(2.0)
        run.stop()
        leaks = reported_leaks(run.log_text())
        if leaks is not None:
            return leaks
    return None


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


# --- the core soak --------------------------------------------------------------------------------
def core_soak(frames: int, warmup_frames: int, model: Optional[str] = None, samples: int = 20) -> SoakResult:
    """``frames`` 720p frames through the worker client, each segmented; growth from ``warmup_frames`` on."""
    spec = load_manifest().get(model)
    capture = capture_size_for(spec, WIDTH, HEIGHT)
    photo = cv2.cvtColor(photo_covering(WIDTH, HEIGHT), cv2.COLOR_BGR2BGRA)
    pictures = (photo, np.ascontiguousarray(photo[:, ::-1]))
    every = max(1, (frames - warmup_frames) // samples)
    result = SoakResult("core")
    client = MaskWorkerClient()
    client.start()
    try:
        client.configure(model)
        _wait_for(client, lambda: client.ready, "the model to load")
        assert client.pid is not None
        result.worker_pids.append(client.pid)
        started, masks = time.monotonic(), 0
        for number in range(1, frames + 1):
            frame = cv2.resize(pictures[number % 2], capture, interpolation=cv2.INTER_AREA)
            masks += _wait_for(client, lambda: client.accepts_frames, "the worker to take a frame")
            assert client.submit(frame)
            if number == warmup_frames:
                result.warm = len(result.samples)
            if number in (1, warmup_frames) or (number > warmup_frames and (number - warmup_frames) % every == 0):
                result.samples.append(_core_sample(client, number, started))
        masks += _wait_for(client, lambda: client.accepts_frames, "the last mask")
        if result.samples[-1].frames != frames:
            result.samples.append(_core_sample(client, frames, started))
        if masks != frames:
            raise RuntimeError(f"{masks} masks came back for {frames} frames")
    finally:
        pid = client.pid
        client.stop()
        result.leftover_workers = still_present([pid] if pid else [])
    return result


def _wait_for(client: MaskWorkerClient, condition: Callable[[], bool], what: str) -> int:
    """Poll the client until ``condition``; returns how many masks arrived meanwhile."""
    deadline, masks = time.monotonic() + WORKER_TIMEOUT_S, 0
    while not condition():
        client.poll()
        masks += client.latest_result() is not None
        if client.state.failing or time.monotonic() > deadline:
            raise RuntimeError(f"waiting for {what}: the worker is {client.state}: {client.status}")
        time.sleep(0.0002)
    return masks + (client.latest_result() is not None)


def _core_sample(client: MaskWorkerClient, frames: int, started: float) -> Sample:
    assert client.pid is not None
    own, worker = sample(os.getpid()), sample(client.pid)
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        frames=frames,
        rss_mb=own.rss_mb,
        fds=own.fds,
        threads=own.threads,
        workers=1,
        worker_rss_mb=worker.rss_mb,
        worker_fds=worker.fds,
    )


# --- output ---------------------------------------------------------------------------------------
TABLE_HEADER = (
    "s",
    "frames",
    "RSS MB",
    "fds",
    "threads",
    "workers",
    "worker RSS MB",
    "worker fds",
    "mask in use",
    "RSS MB without the filter",
)


def table_row(row: Sample) -> str:
    cells = [
        f"{row.seconds:.0f}",
        str(row.frames),
        f"{row.rss_mb:.1f}",
        str(row.fds),
        str(row.threads),
        str(row.workers),
        or_dash(row.worker_rss_mb, "{:.1f}"),
        or_dash(row.worker_fds),
        or_dash(None if row.mask_in_use is None else ("yes" if row.mask_in_use else "NO")),
        or_dash(row.control_rss_mb, "{:.1f}"),
    ]
    return "| " + " | ".join(cells) + " |"


def summary(result: SoakResult) -> list[str]:
    """The figures a reader (and the soak test) looks at: growth after the warm-up, frames, leaks."""
    first = result.samples[result.warm]
    measured = result.seconds - first.seconds
    rate = (result.frames - first.frames) / measured if measured > 0 else 0.0
    lines = [
        f"- {result.name}: {result.frames} frames in {result.seconds:.0f} s ({rate:.1f} frames/s after the "
        f"warm-up); growth from {first.seconds:.0f} s ({first.frames} frames) to the end: "
        f"RSS {result.growth('rss_mb'):+.1f} MB (steady {or_dash(result.steady_growth('rss_mb'), '{:+.1f}')} MB), "
        f"worker RSS {or_dash(result.growth('worker_rss_mb'), '{:+.1f}')} MB, "
        f"fds {result.growth('fds'):+.0f}, threads {result.growth('threads'):+.0f}, "
        f"worker fds {or_dash(result.growth('worker_fds'), '{:+.0f}')}",
        f"- {result.name}: worker processes seen {len(result.worker_pids)} (restarts "
        f"{max(0, len(result.worker_pids) - 1)}), left running after the end: {len(result.leftover_workers)}",
    ]
    if result.growth("control_rss_mb") is not None:
        lines.append(f"- {result.name}: the same OBS without the filter: RSS {result.growth('control_rss_mb'):+.1f} MB")
    if result.name == "OBS":
        lines.append(
            f"- OBS: leaks reported at exit {or_dash(result.leaks)}, "
            f"by OBS alone {or_dash(result.leaks_of_obs_alone)}; "
            f"Python errors in the log {len(result.python_errors)}"
        )
    return lines


def report(result: SoakResult) -> list[str]:
    header = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    rows = [table_row(row) for row in result.samples]
    rows.insert(result.warm, "| *warm-up over* |" + " |" * (len(TABLE_HEADER) - 1))
    return [f"{result.name} soak", "", *header, *rows, "", *summary(result), ""]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="OBS soak: canvas time after the warm-up")
    parser.add_argument("--warmup", type=float, default=60.0, help="OBS soak: seconds before the first sample")
    parser.add_argument("--interval", type=float, default=60.0, help="OBS soak: seconds between samples")
    parser.add_argument(
        "--frames", type=int, help="OBS soak: run until the filter drew this many frames (instead of --minutes)"
    )
    parser.add_argument("--control", action="store_true", help="OBS soak: sample an OBS without the filter too")
    parser.add_argument("--core-frames", type=int, default=FPS * 60 * 30, help="core soak: frames (54000 = 30 min)")
    parser.add_argument("--model", help="core soak: model name (default: the manifest's default)")
    parser.add_argument("--skip-obs", action="store_true", help="run the core soak only")
    parser.add_argument("--skip-core", action="store_true", help="run the OBS soak only")
    parser.add_argument("--json", type=Path, help="also write the samples and summaries as JSON to this file")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _arguments(argv)
    print("$ " + " ".join(["python", "tools/soak.py", *argv]))
    print(f"Machine: {cpu_model()}, {os.cpu_count()} logical cores; obs-blur {code_version()}\n", flush=True)
    results = []
    if not args.skip_obs:
        with tempfile.TemporaryDirectory(prefix="obs-blur-soak-") as work:
            plan = (args.minutes * 60, args.warmup, args.interval)
            results.append(obs_soak(*plan, Path(work), until_frames=args.frames, control=args.control))
        print("\n".join(report(results[-1])), flush=True)
    if not args.skip_core:
        warmup = min(1000, args.core_frames // 10)
        results.append(core_soak(args.core_frames, warmup, args.model))
        print("\n".join(report(results[-1])), flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
