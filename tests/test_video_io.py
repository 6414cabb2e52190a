"""Videos in and out of `blur`: codecs, audio, frame rate, rotation, colours, and every way it can fail.

Clips are made with PyAV itself (tests/video_clips.py), so each property a test checks is one it set.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from cli_helpers import assert_clean_error, leftovers, run_cli
from video_clips import ClipSpec, audio_packets, decoded_frames, make_clip, probe, video_times

from obs_blur import cli, media_io, video_io
from obs_blur.compositor import CompositeSettings, composite
from obs_blur.pipeline import ModelPipelines
from obs_blur.video_io import VideoReader, VideoWriter


def audio_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [Fraction(p.pts) * stream.time_base for p in container.demux(stream) if p.size]


@pytest.mark.parametrize(
    ("suffix", "spec"),
    [
        (".mp4", ClipSpec(audio="aac", audio_rate=44100, audio_layout="mono")),
        (".mkv", ClipSpec(audio="libopus", audio_rate=48000, audio_layout="stereo")),
        (".mov", ClipSpec(audio="pcm_s16le", audio_rate=32000, audio_layout="stereo")),
    ],
    ids=["aac-mp4", "opus-mkv", "pcm-mov"],
)
def test_audio_is_copied_packet_for_packet(tmp_path: Path, astronaut: np.ndarray, suffix: str, spec: ClipSpec) -> None:
    """H.264 video out, and the same audio stream: codec, rate, channels, every packet's bytes and time."""
    source = make_clip(tmp_path / f"call{suffix}", astronaut, spec)
    output = tmp_path / f"blurred{suffix}"
    result = run_cli("blur", str(source), str(output))
    assert result.returncode == 0, result.stderr
    video, audio = probe(output)
    assert (video.codec, video.pix_fmt, video.width, video.height) == ("h264", "yuv420p", 480, 320)
    assert audio == probe(source)[1]
    assert audio_packets(output) == audio_packets(source) and len(audio_packets(source)) > 5
    assert audio_times(output) == audio_times(source)


MS = Fraction(1, 1000)
VARIABLE = [0, 33, 67, 120, 133, 200, 260, 261, 300, 400, 433, 467]  # milliseconds, Matroska's clock


@pytest.mark.parametrize(
    ("source_name", "spec", "output_name"),
    [
        ("ntsc.mp4", ClipSpec(rate=Fraction(30000, 1001), audio="aac"), "out.mp4"),
        ("ntsc.mp4", ClipSpec(rate=Fraction(30000, 1001)), "out.mkv"),
        ("variable.mkv", ClipSpec(pts=VARIABLE, time_base=MS, audio="libopus"), "out.mkv"),
        ("variable.mkv", ClipSpec(pts=VARIABLE, time_base=MS), "out.mp4"),
    ],
    ids=["30000/1001", "30000/1001-to-mkv", "variable", "variable-to-mp4"],
)
def test_frame_times_are_kept(
    tmp_path: Path, astronaut: np.ndarray, source_name: str, spec: ClipSpec, output_name: str
) -> None:
    """Constant odd rates and variable rates: every frame keeps its presentation time (to the
    millisecond in Matroska, whose clock ticks in milliseconds; exactly elsewhere)."""
    source = make_clip(tmp_path / source_name, astronaut, spec)
    output = tmp_path / output_name
    result = run_cli("blur", str(source), str(output))
    assert result.returncode == 0, result.stderr
    tolerance = MS / 2 if output.suffix == ".mkv" else 0
    times_in, times_out = video_times(source)[0], video_times(output)[0]
    assert len(times_out) == len(times_in) == 12
    assert all(abs(a - b) <= tolerance for a, b in zip(times_in, times_out)), (times_in, times_out)
    if spec.pts is None:
        assert probe(output)[0].rate == Fraction(30000, 1001)


def _composited(frames: list[np.ndarray]) -> list[np.ndarray]:
    """What `blur` with default settings makes of these frames, in order (temporal smoothing included)."""
    pipelines, settings = ModelPipelines(None), CompositeSettings()
    results = []
    for index, frame in enumerate(frames):
        pipeline = pipelines.for_video_frame(frame)
        alpha, exclude = pipeline.alpha_and_exclusion(frame)
        pipelines.observe(pipeline, index / 30.0)
        results.append(composite(frame, alpha, settings, exclude))
    return results


@pytest.mark.parametrize("rotation", [90, -90])
def test_rotation_is_kept_and_the_model_sees_people_upright(
    tmp_path: Path, astronaut: np.ndarray, rotation: int
) -> None:
    """A phone video stored sideways: same display matrix out, same stored size, and the mask was made
    on the upright picture (the output matches the pipeline on upright frames, not on sideways ones)."""
    source = make_clip(tmp_path / "phone.mp4", astronaut, ClipSpec(rotation=rotation, audio="aac"))
    output = tmp_path / "out.mp4"
    result = run_cli("blur", str(source), str(output))
    assert result.returncode == 0, result.stderr
    assert video_times(output)[1] == rotation
    turns = round(rotation / 90) % 4
    stored = decoded_frames(source)
    got = [np.rot90(frame, turns) for frame in decoded_frames(output)]
    assert got[0].shape == (480, 320, 3)
    upright = _composited([np.ascontiguousarray(np.rot90(frame, turns)) for frame in stored])
    sideways = [np.rot90(frame, turns) for frame in _composited(stored)]
    error_upright = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(got, upright)])
    error_sideways = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(got, sideways)])
    assert error_upright < 3.5 and error_sideways > 2 * error_upright, (error_upright, error_sideways)


def _copy_video(source: Path, output: Path) -> None:
    """Through VideoReader and VideoWriter with the frames unchanged (no model)."""
    with VideoReader(source) as reader, VideoWriter(output, reader) as writer:
        for frame in reader.frames(on_audio=writer.copy_audio):
            writer.write(frame, frame.image)
        writer.commit()


def test_without_display_matrix_support_videos_are_stored_upright(
    tmp_path: Path, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyAV before 17.1 cannot write a display matrix: the frames are then stored as players showed them."""
    source = make_clip(tmp_path / "phone.mp4", astronaut, ClipSpec(rotation=90))
    monkeypatch.setattr(video_io, "can_write_display_matrix", lambda: False)
    _copy_video(source, tmp_path / "out.mp4")
    assert video_times(tmp_path / "out.mp4")[1] == 0
    got, stored = decoded_frames(tmp_path / "out.mp4"), decoded_frames(source)
    assert got[0].shape == (480, 320, 3)
    assert np.abs(got[0].astype(int) - np.rot90(stored[0], 1)).mean() < 3


@pytest.mark.parametrize("rotation", [None, 90])
def test_reader_gives_the_frames_opencv_gave(tmp_path: Path, astronaut: np.ndarray, rotation: int) -> None:
    """The pipeline sees what it saw when OpenCV read videos: BGR uint8, upright (OpenCV auto-rotates)."""
    source = make_clip(tmp_path / "clip.mp4", astronaut, ClipSpec(frames=4, rotation=rotation))
    capture = cv2.VideoCapture(str(source))
    expected = [capture.read()[1] for _ in range(4)]
    with VideoReader(source) as reader:
        frames = [frame.image for frame in reader.frames(on_audio=lambda packet: None)]
    assert len(frames) == 4
    for ours, theirs in zip(frames, expected):
        assert ours.dtype == np.uint8 and ours.shape == theirs.shape
        assert np.abs(ours.astype(int) - theirs).max() <= 1


def _full_range_bt709_clip(path: Path, image: np.ndarray) -> Path:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 480, 320, "yuv420p"
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709
        context.color_range = 2  # full ("pc")
        picture = cv2.resize(image, (480, 320))
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame = frame.reformat(format="yuv420p", dst_colorspace=1, dst_color_range=2)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _luma_and_tags(path: Path) -> tuple[list[np.ndarray], tuple[int, ...]]:
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        frames = list(container.decode(video=0))
        tags = (frames[0].colorspace, frames[0].color_range, context.color_primaries, context.color_trc)
        return [f.to_ndarray()[: f.height] for f in frames], tags


def test_colour_description_survives(tmp_path: Path, astronaut: np.ndarray) -> None:
    """Full-range BT.709 in, the same tags out, and the same luma values (not stretched or squeezed)."""
    source = _full_range_bt709_clip(tmp_path / "hd.mp4", astronaut)
    _copy_video(source, tmp_path / "out.mp4")
    luma_in, tags_in = _luma_and_tags(source)
    luma_out, tags_out = _luma_and_tags(tmp_path / "out.mp4")
    assert tags_out == tags_in == (1, 2, 1, 1)
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(luma_in, luma_out)]) < 2.5


@pytest.mark.parametrize(
    ("codec", "suffix", "audio", "decoded_as"),
    [
        ("libx265", ".mp4", "aac", "hevc"),
        ("libvpx-vp9", ".webm", "libopus", "vp9"),
        (None, ".webm", "libopus", "vp9"),
        ("mpeg4", ".mkv", "aac", "mpeg4"),
        (None, ".avi", "aac", "mpeg4"),
    ],
)
def test_other_encoders(
    tmp_path: Path, astronaut: np.ndarray, codec: str, suffix: str, audio: str, decoded_as: str
) -> None:
    """--codec, and each suffix's default, with the audio still copied; the encoder prints nothing."""
    source = make_clip(tmp_path / "call.mkv", astronaut, ClipSpec(frames=6, audio=audio))
    output = tmp_path / f"out{suffix}"
    result = run_cli("blur", str(source), str(output), *(["--codec", codec] if codec else []))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "6 frames" in lines[0], "only the progress line, no encoder banner"
    video, sound = probe(output)
    assert video.codec == decoded_as and sound.codec == probe(source)[1].codec
    assert audio_packets(output) == audio_packets(source)


# Failures: one sentence, exit status 2, and the destination untouched (here it holds an older file).


@pytest.fixture
def clip(tmp_path: Path, astronaut: np.ndarray) -> Path:
    return make_clip(tmp_path / "call.mp4", astronaut, ClipSpec(audio="aac"))


@pytest.fixture
def old_output(tmp_path: Path) -> Path:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"the previous output")
    return path


def assert_untouched(old_output: Path) -> None:
    assert old_output.read_bytes() == b"the previous output"
    assert leftovers(old_output.parent, old_output.stem) == [old_output], "no temporary file is left"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--codec", "nosuch"], "--codec nosuch: this FFmpeg"),
        (["--codec", "aac"], "is an audio encoder"),
    ],
)
def test_bad_codec(clip: Path, old_output: Path, args: list[str], fragment: str) -> None:
    assert_clean_error(run_cli("blur", str(clip), str(old_output), *args), fragment)
    assert_untouched(old_output)


def test_container_that_cannot_hold_the_encoder(clip: Path, tmp_path: Path) -> None:
    result = run_cli("blur", str(clip), str(tmp_path / "out.webm"), "--codec", "libx264")
    assert_clean_error(result, "a .webm file cannot hold libx264 video; use --codec libvpx-vp9")
    assert not leftovers(tmp_path, "out")


def test_container_that_cannot_carry_the_audio(clip: Path, tmp_path: Path) -> None:
    """AAC cannot go into WebM untouched: refused before any work, naming the suffixes that can."""
    result = run_cli("blur", str(clip), str(tmp_path / "out.webm"))
    assert_clean_error(result, "cannot carry the input's aac audio unchanged; write .mp4")
    assert ".mkv" in result.stderr
    assert not leftovers(tmp_path, "out")


def test_not_a_video(tmp_path: Path, old_output: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video")
    assert_clean_error(run_cli("blur", str(fake), str(old_output)), "not a readable video")
    assert_untouched(old_output)


def test_no_video_stream(tmp_path: Path, old_output: Path) -> None:
    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), mode="w") as container:
        stream = container.add_stream("aac", rate=48000)
        for i in range(5):
            frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert_clean_error(run_cli("blur", str(sound), str(old_output)), "no video stream")
    assert_untouched(old_output)


def test_odd_size_for_a_420_encoder(tmp_path: Path, astronaut: np.ndarray, old_output: Path) -> None:
    source = make_clip(tmp_path / "odd.mkv", astronaut, ClipSpec(codec="ffv1", pix_fmt="yuv444p", size=(481, 321)))
    assert_clean_error(run_cli("blur", str(source), str(old_output)), "needs an even width and height")
    assert_untouched(old_output)


@pytest.mark.parametrize("suffix", [".mp4", ".png"])
def test_disk_full(
    tmp_path: Path,
    clip: Path,
    astronaut: np.ndarray,
    suffix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """ENOSPC for real: the temporary output is a symlink to /dev/full, where every write fails so."""
    made = []

    def temp_on_dev_full(path: Path) -> Path:
        link = path.with_name(f".{path.stem}.full{path.suffix}")
        link.symlink_to("/dev/full")
        made.append(link)
        return link

    monkeypatch.setattr(media_io, "create_temp", temp_on_dev_full)
    monkeypatch.setattr(video_io, "create_temp", temp_on_dev_full)
    source = clip if suffix == ".mp4" else tmp_path / "photo.png"
    cv2.imwrite(str(tmp_path / "photo.png"), astronaut)
    output = tmp_path / f"out{suffix}"
    output.write_bytes(b"the previous output")
    status = cli.main(["blur", str(source), str(output)])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("obs-blur: error: ") and "No space left on device" in err, err
    assert made and not any(link.is_symlink() for link in made), "the temporary link is removed"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode), "only the link went, never the device"
    assert_untouched(output)


def test_file_size_limit_mid_video(tmp_path: Path, astronaut: np.ndarray, old_output: Path) -> None:
    """A write that fails after part of the file is written (RLIMIT_FSIZE, a real kernel EFBIG), mid-way
    through the frames: the output is long enough for FFmpeg to flush its 32 KiB buffer a few times."""
    clip = make_clip(tmp_path / "long.mp4", astronaut, ClipSpec(frames=150, audio="aac"))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))

    command = [sys.executable, "-m", "obs_blur", "blur", str(clip), str(old_output)]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit, timeout=300)
    assert_clean_error(result, "File too large")
    assert_untouched(old_output)


def test_interrupt_leaves_nothing(clip: Path, old_output: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+C after a few frames: exit status 130 and the old file as it was."""
    calls = []

    def interrupted(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return composite(*args, **kwargs)

    monkeypatch.setattr(cli, "composite", interrupted)
    assert cli.main(["blur", str(clip), str(old_output)]) == 130
    assert_untouched(old_output)


def test_truncated_video_gives_the_frames_it_has(tmp_path: Path, astronaut: np.ndarray) -> None:
    """Like ffmpeg, a Matroska file cut short is read up to the cut."""
    source = make_clip(tmp_path / "call.mkv", astronaut, ClipSpec(frames=24))
    data = source.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 4 // 5])
    result = run_cli("blur", str(cut), str(tmp_path / "out.mkv"))
    assert result.returncode == 0, result.stderr
    assert 0 < len(video_times(tmp_path / "out.mkv")[0]) < 24
