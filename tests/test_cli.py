"""Every CLI command and error path, run as a user runs them: `python -m obs_blur ...`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_helpers import REPO_ROOT, assert_clean_error, leftovers, run_cli
from video_clips import ClipSpec, audio_packets, make_clip, probe

from obs_blur.bench import source_photo
from obs_blur.pipeline import MaskPipeline, ModelPipelines


@pytest.fixture
def photo(tmp_path: Path, astronaut: np.ndarray) -> Path:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), astronaut)
    return path


@pytest.fixture
def clip(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """A 12-frame H.264 video of the astronaut drifting right (a moving person), with AAC sound."""
    return make_clip(tmp_path / "clip.mp4", astronaut, ClipSpec(audio="aac"))


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
    expected = ModelPipelines(None).for_picture(astronaut).alpha(astronaut)  # the default, auto
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
    video, audio = probe(output)
    assert (video.codec, video.pix_fmt) == ("h264", "yuv420p")
    assert audio_packets(output) == audio_packets(clip) and audio == probe(clip)[1]


def test_blur_video_written_by_opencv(tmp_path: Path, astronaut: np.ndarray) -> None:
    """Files from other tools (here OpenCV's MPEG-4 Part 2 writer, no audio) read as well."""
    source = tmp_path / "opencv.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 12, (480, 320))
    for i in range(6):
        writer.write(cv2.resize(np.roll(astronaut, 4 * i, axis=1), (480, 320)))
    writer.release()
    result = run_cli("blur", str(source), str(tmp_path / "out.mkv"))
    assert result.returncode == 0, result.stderr
    assert [s.kind for s in probe(tmp_path / "out.mkv")] == ["video"]


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


def test_bench_needs_no_scikit_image(tmp_path: Path) -> None:
    """The default photo ships with the code: bench runs where scikit-image cannot be imported."""
    blocker = tmp_path / "no-skimage"
    blocker.mkdir()
    (blocker / "skimage.py").write_text("raise ImportError('scikit-image is not installed here')\n")
    result = run_cli(
        "bench", "--json", "--frames", "2", "--models", "mediapipe-landscape", env={"PYTHONPATH": str(blocker)}
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["results"]) == 2


def test_bench_photo_is_the_astronaut(astronaut: np.ndarray) -> None:
    """The shipped JPEG is scikit-image's astronaut: the masks bench's stages work on are the same."""
    from obs_blur.bench import make_frames

    shipped = source_photo(None)
    assert shipped.shape == astronaut.shape and np.abs(shipped.astype(int) - astronaut).mean() < 4
    pipeline = MaskPipeline.load()
    for width, height in ((1280, 720), (1920, 1080)):
        ours = pipeline.alpha(make_frames(shipped, width, height)[0])
        pipeline.reset()
        reference = pipeline.alpha(make_frames(astronaut, width, height)[0])
        pipeline.reset()
        assert np.abs(ours.astype(int) - reference).mean() < 1.0
        assert 0.25 < (ours > 127).mean() < 0.35, "a person fills about 30 % of the frame"


def test_bench_table() -> None:
    result = run_cli("bench", "--frames", "2", "--models", "mediapipe-general")
    assert result.returncode == 0, result.stderr
    assert "mask_path" in result.stdout and "1920x1080" in result.stdout


def test_doctor() -> None:
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    fragments = ("onnxruntime", "chosen       CPU", "mediapipe-landscape   ok", "mediapipe-general     ok",
                 "(default auto: mediapipe-landscape or mediapipe-general)", "status       ready")
    for fragment in fragments:
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
    for target in models.glob("*.onnx"):  # whichever model ``auto`` picks for the photo
        target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    output = tmp_path / "out.png"
    result = run_cli("blur", str(photo), str(output), env={"OBS_BLUR_MODELS": str(models)})
    assert_clean_error(result, "corrupt or altered")
    assert not leftovers(tmp_path, "out")


def test_bad_arguments(tmp_path: Path, photo: Path) -> None:
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--strength", "150"), "outside 0-100")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--color", "red"), "colour")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--mode", "image"), "--background")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--lens-depth"), "applies to --mode lens")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.jpg"), "--mode", "transparent"), "transparency")
    assert_clean_error(run_cli("blur", str(photo), str(photo)), "overwrite the input")
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.mp4")), "must be a image")


def test_video_transparent_refused(tmp_path: Path, clip: Path) -> None:
    assert_clean_error(run_cli("blur", str(clip), str(tmp_path / "o.mp4"), "--mode", "transparent"), "alpha")


@pytest.mark.parametrize("name", ["o.png", "o.mp4"])
def test_output_folder_that_cannot_be_made(tmp_path: Path, photo: Path, clip: Path, name: str) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder would go")
    source = photo if name.endswith(".png") else clip
    assert_clean_error(run_cli("blur", str(source), str(blocker / name)), "cannot write there")


def test_codec_only_for_videos(tmp_path: Path, photo: Path) -> None:
    assert_clean_error(run_cli("blur", str(photo), str(tmp_path / "o.png"), "--codec", "libx264"), "video output")


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["022", "002"])
def test_outputs_follow_the_umask(tmp_path: Path, photo: Path, clip: Path, umask: int) -> None:
    """Outputs get the mode any new file gets (0666 less the umask), not a temporary file's 0600."""
    expected = 0o666 & ~umask
    image, video, masks = tmp_path / "o.png", tmp_path / "o.mp4", tmp_path / "masks"
    commands = [("blur", photo, image), ("blur", clip, video), ("mask", photo, "--out", masks)]
    for args in commands:
        result = run_cli(*map(str, args), umask=umask)
        assert result.returncode == 0, result.stderr
    for path in (image, video, masks / "astronaut.png"):
        assert stat.S_IMODE(path.stat().st_mode) == expected, f"{path.name}: {oct(path.stat().st_mode)}"
    assert stat.S_IMODE(masks.stat().st_mode) == 0o777 & ~umask
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file is left"
