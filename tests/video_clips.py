"""Test clips made with PyAV itself (no ffmpeg binary): video of a moving person, optional audio.

Every stream property a test checks (frame rate, timestamps, rotation, audio codec) is set here
explicitly, so a test can compare the output of `blur` against what it put in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import av
import cv2
import numpy as np


@dataclass
class ClipSpec:
    """What ``make_clip`` writes; the defaults give a 480x320, 12-frame H.264 clip at 12 fps."""

    frames: int = 12
    size: tuple[int, int] = (480, 320)
    rate: Fraction = Fraction(12)
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    audio: Optional[str] = None  # "aac", "libopus", "pcm_s16le", ...
    audio_rate: int = 48000
    audio_layout: str = "stereo"
    rotation: Optional[int] = None  # counter-clockwise degrees, as VideoFrame.rotation reads back
    pts: Optional[Sequence[int]] = None  # explicit timestamps in units of time_base
    time_base: Optional[Fraction] = None


def person_frames(person: np.ndarray, spec: ClipSpec) -> list[np.ndarray]:
    """The person drifting right, one frame per ``spec.frames``, as stored (before rotation)."""
    return [cv2.resize(np.roll(person, 4 * i, axis=1), spec.size) for i in range(spec.frames)]


def make_clip(path: Path, person: np.ndarray, spec: Optional[ClipSpec] = None) -> Path:
    """Write the clip ``spec`` describes to ``path`` (container chosen by its suffix)."""
    spec = spec or ClipSpec()
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(spec.codec, rate=spec.rate)
        video.width, video.height = spec.size
        video.pix_fmt = spec.pix_fmt
        if spec.time_base is not None:
            video.codec_context.time_base = spec.time_base
        if spec.rotation is not None:
            video.set_display_rotation(spec.rotation)
        audio = container.add_stream(spec.audio, rate=spec.audio_rate, layout=spec.audio_layout) if spec.audio else None
        _write_video(container, video, person, spec)
        if audio is not None:
            _write_audio(container, audio, spec)
    return path


def _write_video(container: Any, stream: Any, person: np.ndarray, spec: ClipSpec) -> None:
    time_base = spec.time_base or Fraction(1) / spec.rate
    for i, image in enumerate(person_frames(person, spec)):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = spec.pts[i] if spec.pts is not None else i
        frame.time_base = time_base
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _write_audio(container: Any, stream: Any, spec: ClipSpec) -> None:
    """A 440 Hz tone as long as the video, in the encoder's frame size."""
    duration = spec.frames / spec.rate
    total = int(duration * spec.audio_rate)
    size = stream.codec_context.frame_size or 1024
    channels = stream.codec_context.layout.nb_channels
    for start in range(0, total, size):
        t = (np.arange(size) + start) / spec.audio_rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.tile(tone, (channels, 1)), format="fltp", layout=spec.audio_layout)
        frame.sample_rate, frame.pts, frame.time_base = spec.audio_rate, start, Fraction(1, spec.audio_rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


@dataclass
class StreamFacts:
    """What a test compares between input and output streams."""

    codec: str
    kind: str
    rate: Optional[Fraction] = None
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    pix_fmt: Optional[str] = None


def probe(path: Path) -> list[StreamFacts]:
    """Every stream of a file, as StreamFacts."""
    with av.open(str(path)) as container:
        facts = []
        for stream in container.streams:
            context = stream.codec_context
            if stream.type == "video":
                size = {"width": context.width, "height": context.height, "pix_fmt": context.pix_fmt}
                facts.append(StreamFacts(context.name, "video", rate=stream.average_rate, **size))
            elif stream.type == "audio":
                facts.append(StreamFacts(context.name, "audio", None, context.sample_rate, context.channels))
        return facts


def audio_packets(path: Path) -> list[bytes]:
    """The payload of every audio packet, in order."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def video_times(path: Path) -> tuple[list[Fraction], int]:
    """Presentation times (seconds) of every decoded video frame, and the display rotation."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times, rotation = [], 0
        for frame in container.decode(stream):
            times.append(Fraction(frame.pts) * stream.time_base)
            rotation = frame.rotation
        return sorted(times), rotation


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Frames as stored (no rotation applied), BGR uint8."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
