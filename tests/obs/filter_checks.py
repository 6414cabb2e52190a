"""What the filter tests read besides screenshots: the script's stats file, mask worker processes, image metrics.

The stats file (``OBS_BLUR_STATS``, see obs_blur/obs/stats_file.py) is the channel from the script to
the tests: obs-websocket 5.1 has no way to ask a script anything, and the filter copies its status
into its settings only when the properties dialog opens.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from .harness import REPO_ROOT, HeadlessObs

STATS_FILE_NAME = "stats.json"
#: The settings each mode adds to the filter's dialog, in the dialog's order; transparent and mask have none.
MODE_SETTING = {
    "blur": ["blur_strength"],
    "lens": ["blur_strength", "lens_depth"],
    "color": ["bg_color"],
    "image": ["bg_image"],
    "transparent": [],
    "mask": [],
}


def stats_file(obs: HeadlessObs) -> Path:
    """Where the fixtures point ``OBS_BLUR_STATS`` for this run."""
    return obs.run_dir / STATS_FILE_NAME


def read_stats(obs: HeadlessObs) -> dict[str, Any]:
    """The stats file's content ({} before the first write); it is replaced atomically, never half written."""
    try:
        return json.loads(stats_file(obs).read_text())
    except FileNotFoundError:
        return {}


def filter_stats(obs: HeadlessObs, source: str, filter_name: str, written_after: float = 0.0) -> dict[str, Any]:
    """The stats entry of the filter ``filter_name`` on ``source`` ({} when there is none yet).

    ``written_after`` (unix time) ignores an older file, e.g. one left by the run before a restart.
    """
    stats = read_stats(obs)
    if stats.get("time", 0.0) <= written_after:
        return {}
    for key, entry in stats.get("filters", {}).items():
        if entry.get("source") == source and (key == filter_name or key.startswith(f"{filter_name} @ ")):
            return entry
    return {}


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"timed out after {timeout_s:g} s waiting for {what}"
            return value
        time.sleep(interval_s)


def wait_for_mask(
    obs: HeadlessObs,
    source: str,
    filter_name: str,
    timeout_s: float = 20.0,
    status_has: str = "",
    **expected: Any,
) -> dict[str, Any]:
    """The filter's stats once it composites with a mask (``mask_age_frames`` set) and ``expected`` match.

    ``status_has``: text the status must contain too, e.g. "(mask mode)" after a settings change.
    Only stats written after this call count: a mask in use in an earlier file may be gone by now.
    """
    called_at = time.time()

    def in_use() -> dict[str, Any]:
        entry = filter_stats(obs, source, filter_name, written_after=called_at)
        matches = all(entry.get(key) == value for key, value in expected.items())
        matches = matches and status_has in entry.get("status", "")
        return entry if entry.get("mask_age_frames") is not None and matches else {}

    try:
        return wait_until(in_use, f"a mask in use on {source}/{filter_name} with {expected}", timeout_s)
    except AssertionError as failure:
        raise AssertionError(f"{failure}; last stats: {filter_stats(obs, source, filter_name)}") from None


def worker_pids(obs: HeadlessObs) -> list[int]:
    """Mask worker processes of this OBS run, running or stopped, whoever their parent is by now.

    Workers inherit OBS's environment, so the run's config folder identifies them even after OBS
    exited and they were re-parented; other runs (other tests, other people) are not counted. A
    zombie is not found: its command line and environment are gone. To rule zombies out, remember
    the pids seen and look each one up in /proc (tests/obs/test_faults.py does).
    """
    marker = f"XDG_CONFIG_HOME={obs.config_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environment = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not readable
        if b"obs_blur.mask_worker" in command and marker in environment.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def run_cli(*arguments: str) -> None:
    """``python -m obs_blur ARGUMENTS`` with the test interpreter (the reference implementation)."""
    subprocess.run([sys.executable, "-m", "obs_blur", *arguments], check=True, cwd=REPO_ROOT, capture_output=True)


def cli_mask(image: Path, out_dir: Path, model: str = "") -> np.ndarray:
    """``python -m obs_blur mask`` on ``image``: the reference mask (uint8, 255 = person)."""
    run_cli("mask", str(image), "--out", str(out_dir), *(["--model", model] if model else []))
    mask = cv2.imread(str(out_dir / f"{image.stem}.png"), cv2.IMREAD_GRAYSCALE)
    assert mask is not None, f"the CLI wrote no mask for {image}"
    return mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def local_deviation(rgb: np.ndarray, radius: int = 3) -> np.ndarray:
    """Per-pixel standard deviation of grey levels in a (2r+1)² window: how much detail is left."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)
    mean = cv2.blur(grey, size)
    return np.sqrt(np.maximum(cv2.blur(grey * grey, size) - mean * mean, 0.0))


def regions(mask: np.ndarray, margin: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """(background well away from the person, person well inside the outline) from a 255 = person mask."""
    person = (mask > 127).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    background = cv2.dilate(person, kernel) == 0
    inside = cv2.erode(person, kernel) == 1
    return background, inside


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
