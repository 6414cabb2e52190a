"""Every CLI command and error path, run as a user runs them: `python -m obs_blur ...`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_blur.pipeline import MaskPipeline

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "obs_blur", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def assert_clean_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("obs-blur: error: ")
    assert fragment in result.stderr, result.stderr


@pytest.fixture
def photo(tmp_path: Path, astronaut: np.ndarray) -> Path:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), astronaut)
    return path


@pytest.fixture
def clip(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """A 12-frame video of the astronaut drifting right (a moving person)."""
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12, (480, 320))
    for i in range(12):
        writer.write(cv2.resize(np.roll(astronaut, 4 * i, axis=1), (480, 320)))
    writer.release()
    return path


def test_help_explains_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("mask", "blur", "bench", "doctor", "Examples"):
        assert word in result.stdout


def test_mask_writes_the_pipeline_mask(tmp_path: Path, photo: Path, astronaut: np.ndarray) -> None:
    out = tmp_path / "masks"
    result = run_cli("mask", str(photo), "--out", str(out))
    assert result.returncode == 0, result.stderr
    mask = cv2.imread(str(out / "astronaut.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.shape == astronaut.shape[:2]
    expected = MaskPipeline.load().alpha(astronaut)
    assert np.abs(mask.astype(int) - expected).max() <= 1
    assert mask[100, 240] == 255 and mask[5, 5] == 0


def test_mask_with_bodypix(tmp_path: Path, photo: Path, bodypix_mirror: Path) -> None:
    result = run_cli("mask", str(photo), "--out", str(tmp_path), "--model", "bodypix-s16")
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(tmp_path / "astronaut.png"), cv2.IMREAD_UNCHANGED)[100, 240] > 200


@pytest.mark.parametrize("mode", ["blur", "color", "image", "transparent", "mask"])
def test_blur_image_modes(tmp_path: Path, photo: Path, mode: str) -> None:
    output = tmp_path / f"out-{mode}.png"
    extra = ["--background", str(photo)] if mode == "image" else []
    result = run_cli("blur", str(photo), str(output), "--mode", mode, "--strength", "80", *extra)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(output), cv2.IMREAD_UNCHANGED)
    assert image.shape[:2] == (512, 512)
    assert image.shape[2] == (4 if mode == "transparent" else 3)


def test_blur_video(tmp_path: Path, clip: Path) -> None:
    output = tmp_path / "blurred.mp4"
    result = run_cli("blur", str(clip), str(output))
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(output))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = capture.read()
    assert ok and frame.shape == (320, 480, 3) and frames == 12
    assert "12/12 frames" in result.stderr, "progress is reported"


def test_bench_json(tmp_path: Path) -> None:
    result = run_cli("bench", "--json", "--frames", "3", "--models", "mediapipe-landscape")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["provider"] == "CPU"
    assert [(r["width"], r["height"]) for r in report["results"]] == [(1280, 720), (1920, 1080)]
    for row in report["results"]:
        assert row["model"] == "mediapipe-landscape"
        assert {"preprocess", "inference", "smoothing", "refinement", "composite"} <= set(row["stages_ms"])
        assert row["mask_path_ms"] > 0 and row["bare_inference_ms"] > 0


def test_bench_table() -> None:
    result = run_cli("bench", "--frames", "2", "--models", "mediapipe-general")
    assert result.returncode == 0, result.stderr
    assert "mask_path" in result.stdout and "1920x1080" in result.stdout


def test_doctor() -> None:
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    for fragment in ("onnxruntime", "chosen       CPU", "mediapipe-landscape   ok", "status       ready"):
        assert fragment in result.stdout


def test_missing_file(tmp_path: Path) -> None:
    assert_clean_error(run_cli("mask", str(tmp_path / "nope.jpg"), "--out", str(tmp_path)), "no such file")


def test_unreadable_image(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("this is not a picture")
    assert_clean_error(run_cli("mask", str(fake), "--out", str(tmp_path / "o")), "not a readable image")
    assert not (tmp_path / "o" / "fake.png").exists()


def test_unknown_model(tmp_path: Path, photo: Path) -> None:
    assert_clean_error(run_cli("mask", str(photo), "--out", str(tmp_path), "--model", "nope"), "unknown model")


def test_unknown_file_type(tmp_path: Path, photo: Path) -> None:
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "out.xyz")), "unknown file type")


def test_corrupt_model_leaves_no_output(tmp_path: Path, photo: Path) -> None:
    import shutil

    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    target = models / "selfie_segmentation_landscape_144x256.onnx"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    output = tmp_path / "out.png"
    result = run_cli("blur", str(photo), str(output), env={"OBS_BLUR_MODELS": str(models)})
    assert_clean_error(result, "corrupt or altered")
    assert not output.exists() and not list(tmp_path.glob(".out*"))


def test_bad_arguments(tmp_path: Path, photo: Path) -> None:
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--strength", "150"), "outside 0-100")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--color", "red"), "colour")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--mode", "image"), "--background")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.jpg"), "--mode", "transparent"), "transparency")
    assert_clean_error(run_cli("blur", str(photo), str(photo)), "overwrite the input")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.mp4")), "must be a image")


def test_video_transparent_refused(tmp_path: Path, clip: Path) -> None:
    assert_clean_error(run_cli("blur", str(clip), str(tmp_path / "o.mp4"), "--mode", "transparent"), "alpha")
