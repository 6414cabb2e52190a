"""Faults in the real OBS Studio: the filter passes the video through, says why once, and recovers.

"Never hurt OBS": for every fault below OBS keeps running, frames keep flowing (the stats file's
``frames`` grows), the picture equals the unfiltered one, OBS's own log file gets exactly one line
about it and the filter's status says why in plain words.

Three OBS runs keep this short. The first reads its models from a temporary folder whose manifest
lists one good model and one damaged entry per model fault, one source per entry; the same run then
hosts the GPU request and the worker crash and hang cases, and ends with OBS exiting while a worker
is stopped (SIGSTOP). The other two runs get a private dependency folder without onnxruntime and
without OpenCV.

OBS's log file (``config/obs-studio/logs``) is what a user sees and uploads; the harness's captured
output also holds the mask workers' stderr, which is not part of it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from obs_blur.worker.client import DEFAULT_HANG_TIMEOUT_S, FIRST_BACKOFF_S

from .conftest import pydeps_for_tests, running_obs
from .filter_checks import filter_stats, mean_abs_diff, wait_for_mask, wait_until, worker_pids
from .harness import FILTER_KIND, REPO_ROOT, HeadlessObs, beside_obs

pytestmark = pytest.mark.obs

GOOD = "mediapipe-landscape"
GOOD_FILE = "selfie_segmentation_landscape_144x256.onnx"
PERSON = "Person"
FILTER = "Background"
PASSES_THROUGH = "Video passes through unchanged: "
#: Damaged manifest entries -> what the status must say about them.
DAMAGED = {
    "missing": "missing.onnx is missing: restore it with `git checkout -- models`",
    "truncated": "truncated.onnx is corrupt or altered (sha256 ",
    "corrupt": "corrupt.onnx is corrupt or altered (sha256 ",
    "altered": "altered.onnx is corrupt or altered (sha256 ",
    "wrong-shape": "model wrong-shape takes input [1, 144, 256, 3], but the manifest says [1, 144, 320, 3]",
    "unparseable": "onnxruntime cannot load unparseable.onnx: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF",
}
#: A field appended to an ONNX file (ModelProto.doc_string, field 6): the model still loads and runs.
ONNX_DOC_STRING = b"\x32\x07altered"
FAST_EXIT_S = 5.0


# -- helpers --------------------------------------------------------------------------------------


def source_of(model: str) -> str:
    return f"Photo {model}"


def filter_of(model: str) -> str:
    return f"Blur {model}"


def obs_log_file(obs: HeadlessObs) -> str:
    """OBS's own log file of the current run: OBS's lines only, not the workers' stderr."""
    files = sorted((obs.config_dir / "obs-studio" / "logs").glob("*.txt"), key=lambda path: path.stat().st_mtime)
    assert files, "OBS wrote no log file"
    return files[-1].read_text(errors="replace")


def fault_lines(obs: HeadlessObs, filter_name: str) -> list[str]:
    """The log file's lines saying that ``filter_name`` passes the video through."""
    prefix = f"[obs-blur] filter '{filter_name}': video passes through unchanged: "
    return [line for line in obs_log_file(obs).splitlines() if prefix in line]


def status_has(obs: HeadlessObs, source: str, filter_name: str, text: str, timeout_s: float = 30.0) -> dict:
    """The filter's stats entry once its status contains ``text``."""

    def entry() -> dict:
        found = filter_stats(obs, source, filter_name)
        return found if text in found.get("status", "") else {}

    try:
        return wait_until(entry, f"{text!r} in the status of {source}/{filter_name}", timeout_s)
    except AssertionError as failure:
        raise AssertionError(f"{failure}; last stats: {filter_stats(obs, source, filter_name)}") from None


def frames_keep_flowing(obs: HeadlessObs, source: str, filter_name: str, more: int = 15) -> None:
    frames = filter_stats(obs, source, filter_name)["frames"]
    wait_until(lambda: filter_stats(obs, source, filter_name)["frames"] > frames + more, f"{more} more frames")


def assert_passes_through_and_says_why(
    obs: HeadlessObs, source: str, filter_name: str, original: np.ndarray, why: str
) -> str:
    """The checks every fault shares; returns the one log line."""
    status_has(obs, source, filter_name, why)
    frames_keep_flowing(obs, source, filter_name)
    assert mean_abs_diff(obs.screenshot(source), original) < 1.0
    status = filter_stats(obs, source, filter_name)["status"]
    assert status.startswith(PASSES_THROUGH) and why in status, status
    lines = fault_lines(obs, filter_name)
    assert len(lines) == 1, lines
    assert why in lines[0], lines[0]
    assert obs.running
    return lines[0]


def process_state(pid: int) -> str:
    """The state letter of process ``pid`` (R, S, T stopped, Z zombie, ...), or "" when it is gone.

    ``worker_pids`` cannot see a zombie (its command line and environment are gone), so the tests
    remember every worker pid they saw and ask about each one.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def leftovers(pids: set[int]) -> dict[int, str]:
    return {pid: state for pid in pids if (state := process_state(pid))}


def new_worker(obs: HeadlessObs, old: set[int], timeout_s: float = 30.0) -> int:
    """The pid of a worker of this run that is not in ``old`` (polled every 20 ms)."""
    found = wait_until(lambda: set(worker_pids(obs)) - old, "a new mask worker", timeout_s, 0.02)
    (pid,) = found
    return pid


# -- models folder with damaged entries -----------------------------------------------------------


def write_damaged_models(folder: Path) -> None:
    """A models folder: the good model plus one manifest entry per kind of damage."""
    folder.mkdir()
    manifest = json.loads((REPO_ROOT / "models" / "manifest.json").read_text())
    good = next(entry for entry in manifest["models"] if entry["name"] == GOOD)
    data = (REPO_ROOT / "models" / GOOD_FILE).read_bytes()
    (folder / GOOD_FILE).write_bytes(data)
    flipped = bytearray(data)
    middle = len(data) // 2
    flipped[middle : middle + 64] = bytes(b ^ 0xFF for b in flipped[middle : middle + 64])
    truncated = data[: len(data) // 2]
    files = {
        "truncated": truncated,
        "corrupt": bytes(flipped),
        "altered": data + ONNX_DOC_STRING,
        "unparseable": truncated,
    }
    entries = [good]
    for name in DAMAGED:
        entry = json.loads(json.dumps(good))
        entry.update(name=name, file=f"{name}.onnx")
        if name in files:
            (folder / entry["file"]).write_bytes(files[name])
        if name == "wrong-shape":
            entry["file"] = GOOD_FILE
            entry["input"]["width"] = 320
        if name == "unparseable":  # the manifest vouches for the broken file: onnxruntime reads it
            entry["sha256"] = hashlib.sha256(files[name]).hexdigest()
        entries.append(entry)
    manifest.update(default=GOOD, models=entries)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "models"
    write_damaged_models(folder)
    return folder


@pytest.fixture(scope="module")
def obs(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessObs]:
    """The OBS run of the model, GPU, crash and hang cases: it and its workers read ``models``."""
    with running_obs(tmp_path_factory.mktemp("obs-faults"), environment={"OBS_BLUR_MODELS": str(models)}) as run:
        yield run


@pytest.fixture(scope="module")
def seen_workers() -> set[int]:
    """Every worker pid the tests of the module saw: none may be left when OBS has exited."""
    return set()


@pytest.fixture(scope="module")
def originals(obs: HeadlessObs, astronaut_png: Path) -> dict[str, np.ndarray]:
    """One photo source per damaged model, each with its filter; the pictures are taken before the filters."""
    pictures = {model: obs.add_image_source(source_of(model), astronaut_png) for model in DAMAGED}
    for model in DAMAGED:
        obs.client.create_source_filter(source_of(model), filter_of(model), FILTER_KIND, {"model": model})
    return pictures


# -- 1. damaged model files -----------------------------------------------------------------------


@pytest.mark.parametrize("model", list(DAMAGED))
def test_damaged_model_passes_video_through_and_says_why(
    obs: HeadlessObs, originals: dict[str, np.ndarray], seen_workers: set[int], model: str
) -> None:
    line = assert_passes_through_and_says_why(obs, source_of(model), filter_of(model), originals[model], DAMAGED[model])
    assert "unchanged: model error: " in line, line
    seen_workers.update(worker_pids(obs))
    if model != "unparseable":
        assert "onnxruntime" not in line  # refused before onnxruntime was asked


def test_altered_model_is_refused_although_onnxruntime_would_run_it(obs: HeadlessObs, models: Path) -> None:
    """The altered file is a working model: only the sha256 check can have refused it."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(models / "altered.onnx"), providers=["CPUExecutionProvider"])
    output = session.run(None, {"input": np.zeros((1, 144, 256, 3), np.float32)})[0]
    assert output.shape == (1, 144, 256, 1)
    status = filter_stats(obs, source_of("altered"), filter_of("altered"))["status"]
    assert "refusing to load it" in status, status


def test_choosing_a_good_model_recovers_without_restarting_obs(
    obs: HeadlessObs, originals: dict[str, np.ndarray]
) -> None:
    workers = set(worker_pids(obs))
    for model in DAMAGED:
        obs.client.set_source_filter_settings(source_of(model), filter_of(model), {"model": GOOD}, True)
    for model in DAMAGED:
        entry = wait_for_mask(obs, source_of(model), filter_of(model), 60.0, f"Mask in use: {GOOD} on CPU")
        assert entry["model"] == GOOD
        assert mean_abs_diff(obs.screenshot(source_of(model)), originals[model]) > 3.0  # blurred again
    assert set(worker_pids(obs)) == workers  # the same worker processes loaded the good model
    log = obs_log_file(obs)
    for model in DAMAGED:
        assert f"[obs-blur] filter '{filter_of(model)}': model {GOOD} ready on CPU" in log
    for model in DAMAGED:
        obs.client.remove_input(source_of(model))
    wait_until(lambda: worker_pids(obs) == [], "the damaged sources' workers stopped", 20.0)


# -- 2. an unknown model name: see test_filter_registration.py::test_unknown_model_falls_back_to_the_default


# -- 4. GPU requested on a machine without one ----------------------------------------------------


@pytest.fixture(scope="module")
def person(obs: HeadlessObs, astronaut_png: Path) -> np.ndarray:
    """The photo source of the GPU, crash and hang cases; its picture without the filter."""
    return obs.add_image_source(PERSON, astronaut_png)


def test_gpu_requested_without_a_gpu_runs_on_the_cpu_and_says_why(obs: HeadlessObs, person: np.ndarray) -> None:
    obs.client.create_source_filter(PERSON, FILTER, FILTER_KIND, {"device": "gpu"})

    entry = wait_for_mask(obs, PERSON, FILTER, 30.0)
    why = "GPU was requested but this onnxruntime build only offers CPU: install the matching onnxruntime flavour"
    assert entry["provider"].startswith(f"CPU ({why}"), entry["provider"]
    assert entry["status"].startswith(f"Mask in use: {GOOD} on CPU ({why}"), entry["status"]
    assert "; using the CPU)" in entry["status"]
    (line,) = [line for line in obs_log_file(obs).splitlines() if f"filter '{FILTER}': model" in line]
    assert f"model {GOOD} ready on CPU ({why}" in line
    assert mean_abs_diff(obs.screenshot(PERSON), person) > 3.0  # it blurs, on the CPU


# -- 5. the worker crashes or hangs ---------------------------------------------------------------


def test_repeated_crashes_back_off_longer_and_are_logged_once(
    obs: HeadlessObs, person: np.ndarray, seen_workers: set[int]
) -> None:
    """Each replacement is killed before its first mask: the back-off doubles, the log says it once."""
    wait_for_mask(obs, PERSON, FILTER)
    (pid,) = worker_pids(obs)
    seen_workers.add(pid)
    frames = filter_stats(obs, PERSON, FILTER)["frames"]
    gaps, statuses, during_restart = [], set(), None
    for crash in range(3):
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        if crash == 2:  # a back-off of 2 s: time to look at the picture meanwhile
            status_has(obs, PERSON, FILTER, "restarting in 2 s", 5.0)
            during_restart = obs.screenshot(PERSON)

        def replacement(old: int = pid) -> set[int]:
            statuses.add(filter_stats(obs, PERSON, FILTER).get("status", ""))
            return set(worker_pids(obs)) - {old}

        (pid,) = wait_until(replacement, "a replacement worker", 30.0, 0.02)
        gaps.append(time.monotonic() - killed_at)
        seen_workers.add(pid)
    print(f"crash loop: restart gaps {[round(gap, 2) for gap in gaps]} s")
    for crash, gap in enumerate(gaps):
        backoff = FIRST_BACKOFF_S * 2**crash
        assert backoff <= gap <= backoff + 5.0, gaps  # never before its back-off, which doubles
    restarting = {status for status in statuses if "restarting in" in status}
    assert restarting and all(
        status.startswith(PASSES_THROUGH + "worker crashed (exit code -9); restarting in ") for status in restarting
    ), restarting
    assert during_restart is not None and mean_abs_diff(during_restart, person) < 1.0

    wait_for_mask(obs, PERSON, FILTER, 30.0)  # the fourth worker is left alive
    assert filter_stats(obs, PERSON, FILTER)["frames"] > frames + 60  # frames flowed all along
    lines = fault_lines(obs, FILTER)
    assert len(lines) == 1, lines  # one line for three crashes in a row
    assert "worker crashed (exit code -9); restarting in 0.5 s" in lines[0]
    assert obs.running


def test_hung_worker_is_detected_replaced_and_not_left_stopped(
    obs: HeadlessObs, person: np.ndarray, seen_workers: set[int]
) -> None:
    wait_for_mask(obs, PERSON, FILTER)
    (pid,) = worker_pids(obs)
    seen_workers.add(pid)
    lines_before = len(fault_lines(obs, FILTER))

    stopped_at = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    # The photo's settled mask needs no worker; new settings need one: a frame goes out and gets no answer.
    obs.client.set_source_filter_settings(PERSON, FILTER, {"smoothing": 40}, True)
    status_has(obs, PERSON, FILTER, "worker stopped responding", 30.0)
    detected_s = time.monotonic() - stopped_at
    assert mean_abs_diff(obs.screenshot(PERSON), person) < 1.0
    print(f"hang detected after {detected_s:.2f} s (hang timeout {DEFAULT_HANG_TIMEOUT_S:g} s)")
    assert DEFAULT_HANG_TIMEOUT_S <= detected_s <= DEFAULT_HANG_TIMEOUT_S + 3.0

    seen_workers.add(new_worker(obs, {pid}))
    wait_until(lambda: process_state(pid) == "", f"the hung worker {pid} killed and reaped", 5.0)
    wait_for_mask(obs, PERSON, FILTER, 30.0)
    lines = fault_lines(obs, FILTER)[lines_before:]
    assert len(lines) == 1, lines
    assert f"worker stopped responding (no mask for {DEFAULT_HANG_TIMEOUT_S:g} s); restarting in 0.5 s" in lines[0]


def test_obs_exits_fast_with_a_stopped_worker_and_leaves_no_process(obs: HeadlessObs, seen_workers: set[int]) -> None:
    wait_for_mask(obs, PERSON, FILTER)
    (pid,) = worker_pids(obs)
    seen_workers.add(pid)
    os.kill(pid, signal.SIGSTOP)  # hung, not yet noticed: OBS closes at once

    stopped = obs.stop()

    print(f"OBS exited in {stopped.seconds:.2f} s with worker {pid} stopped; {len(seen_workers)} workers seen")
    assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
    assert stopped.seconds < FAST_EXIT_S, stopped
    assert worker_pids(obs) == []
    assert leftovers(seen_workers) == {}, f"worker processes left (pid: state): {leftovers(seen_workers)}"
    assert obs.python_errors() == [], obs.python_errors()


# -- 3. a dependency missing in OBS's Python ------------------------------------------------------


#: Which of the three packages an interpreter imports (really imports: OpenCV's loader can fail late).
IMPORT_PROBE = """
import importlib
found = []
for name in ("numpy", "cv2", "onnxruntime"):
    try:
        importlib.import_module(name)
        found.append(name)
    except ImportError:
        pass
print(" ".join(found))
"""


def dependency_folder_without(package: str, names: tuple[str, ...], folder: Path) -> Path:
    """A copy of the test dependency folder (hard links where possible) that lacks ``names``.

    Not symlinks: OpenCV's loader resolves its own path and, found through a link, imports itself again.
    """
    real = pydeps_for_tests()
    assert real is not None and real.is_dir(), "no private dependency folder: run tools/run_tests.sh"

    def left_out(where: str, entries: list[str]) -> list[str]:
        top = Path(where) == real
        return [entry for entry in entries if top and any(fnmatch.fnmatch(entry, name) for name in names)]

    shutil.copytree(real, folder, ignore=left_out, copy_function=link_or_copy)
    embedded = json.loads((real / "obs-blur-install.json").read_text())["python"]
    probe = subprocess.run(
        beside_obs(embedded, "-c", IMPORT_PROBE),
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [module for module in ("numpy", "cv2", "onnxruntime") if module != package]
    assert probe.stdout.split() == expected, (
        f"{embedded} (the Python OBS embeds) with {folder} imports {probe.stdout.split()}, not {expected}: "
        f"{package} comes from elsewhere, so this test could not tell a missing package from a present one"
    )
    return folder


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


MISSING = {
    "onnxruntime": (
        ("onnxruntime", "onnxruntime-*.dist-info"),
        "onnxruntime is missing (No module named 'onnxruntime'): run install.py",
    ),
    "cv2": (("cv2", "opencv_python_headless*"), "OpenCV is missing (No module named 'cv2'): run install.py"),
}


@pytest.mark.parametrize("package", list(MISSING))
def test_missing_dependency_passes_through_and_says_to_run_install(
    package: str, tmp_path_factory: pytest.TempPathFactory, astronaut_png: Path
) -> None:
    names, why = MISSING[package]
    folder = dependency_folder_without(package, names, tmp_path_factory.mktemp("pydeps") / "cp3x")
    with running_obs(tmp_path_factory.mktemp(f"obs-no-{package}"), pydeps=folder) as run:
        original = run.add_image_source(PERSON, astronaut_png)
        run.client.create_source_filter(PERSON, FILTER, FILTER_KIND, {})

        line = assert_passes_through_and_says_why(run, PERSON, FILTER, original, why)
        assert package in line and "install.py" in line, line
        stopped = run.stop()
        assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
        assert run.python_errors() == [], run.python_errors()
