"""Video files for the command line, read and written with PyAV (FFmpeg comes in its wheel).

Reading: the best video stream is decoded to BGR uint8 frames turned upright by the stream's display
matrix, the way players show them, so the model sees people standing up. Audio is never decoded: its
packets go to the writer as they are.

Writing: H.264 in yuv420p by default (VP9 for .webm, MPEG-4 Part 2 for .avi), any other encoder of
the wheel with ``--codec``. The output keeps the source's

- timestamps, so constant, odd (30000/1001) and variable frame rates come out as they went in;
- orientation: frames are turned back to their stored orientation and the display matrix is copied,
  so players rotate them exactly as before. PyAV before 17.1 (Python 3.9 ends at PyAV 15) cannot
  write a display matrix; there the frames are stored upright instead, which players show alike;
- colour description (matrix, range, primaries, transfer), used for both conversions so that colours
  survive the round trip;
- audio streams, packet for packet. A container that cannot carry an audio codec untouched is
  refused, before any work, with a sentence naming the suffixes that can: re-encoding the sound
  would change what the user recorded, which a background blur has no reason to do.

Subtitle and data streams are not copied. Like every output, the file is written beside its
destination and renamed into place only when complete (``media_io.create_temp``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Optional, Union

import av
import av.error
import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.media_io import commit_temp, create_temp, discard_temp

CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
DEFAULT_CODEC = "libx264"
DEFAULT_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}
SUGGESTED_CODECS = ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "mpeg4")
PIXEL_FORMAT = "yuv420p"
FALLBACK_RATE = Fraction(30)
# MPEG-4 Part 2 refuses clocks finer than 1/65535 s; 1/60000 s still holds every common frame rate.
MAX_CLOCK_DENOMINATOR = 65535
FINE_CLOCK = Fraction(1, 60000)
# Containers without a timestamp per frame: there the encoder's clock must tick once per frame.
FRAME_CLOCK_FORMATS = {"avi"}
# Encoders that print banners on stderr themselves, past FFmpeg's (silenced) log: keep them to errors.
ENCODER_OPTIONS = {"libx265": {"x265-params": "log-level=error"}}
ENCODER_ENVIRONMENT = {"libsvtav1": {"SVT_LOG": "1"}}
_UNSPECIFIED_COLORSPACES = (0, 2)  # AVCOL_SPC_RGB (not a YUV matrix) and AVCOL_SPC_UNSPECIFIED
AV_ERRORS = (av.error.FFmpegError, OSError)


def _reason(exc: BaseException) -> str:
    """FFmpeg's own short description of an error, without a trailing full stop."""
    return str(getattr(exc, "strerror", None) or exc).rstrip(".")


def _fraction(value: Any) -> Optional[Fraction]:
    """A PyAV rational (Fraction, or AVRational in newer PyAV) as a Fraction; None when unset or zero."""
    if not value:
        return None
    return Fraction(int(value.numerator), int(value.denominator))


def _display_matrix(frame: av.VideoFrame) -> Optional[tuple[int, ...]]:
    """The frame's 3x3 display matrix as nine ints (native byte order, as FFmpeg stores it), if any."""
    try:
        data = bytes(frame.side_data["DISPLAYMATRIX"])
    except (KeyError, ValueError):
        return None
    return struct.unpack("=9i", data[:36]) if len(data) >= 36 else None


def can_write_display_matrix() -> bool:
    """Whether this PyAV can store a display matrix in an output stream (17.1 and newer)."""
    return hasattr(av.video.stream.VideoStream, "set_display_matrix")


def video_encoder(path: Path, requested: Optional[str]) -> str:
    """The encoder for ``path``: ``requested``, or the default for its suffix; refused if not here."""
    name = requested or DEFAULT_CODECS.get(path.suffix.lower(), DEFAULT_CODEC)
    try:
        codec = av.Codec(name, "w")
    except ValueError:
        raise ObsBlurError(
            f"--codec {name}: this FFmpeg (PyAV {av.__version__}) has no such encoder; "
            f"video encoders here include {', '.join(available_encoders())}"
        ) from None
    if codec.type != "video":
        raise ObsBlurError(f"--codec {name} is an {codec.type} encoder; name a video one such as libx264")
    return codec.name


def available_encoders() -> list[str]:
    """The usual video encoders that this PyAV wheel has, for error messages."""
    found = []
    for name in SUGGESTED_CODECS:
        try:
            av.Codec(name, "w")
        except ValueError:
            continue
        found.append(name)
    return found


def _suffixes_accepting(codec_name: str) -> list[str]:
    """Output suffixes whose container takes ``codec_name`` as it is."""
    found = []
    for suffix, format_name in CONTAINER_FORMATS.items():
        probe = av.open(io.BytesIO(), mode="w", format=format_name)
        try:
            if codec_name in probe.supported_codecs:
                found.append(suffix)
        finally:
            probe.close()
    return found


@dataclass(frozen=True)
class Colours:
    """How a stream's YUV samples map to colour; copied from source to output."""

    colorspace: int
    color_range: int
    primaries: int
    transfer: int

    @property
    def swscale_matrix(self) -> Optional[int]:
        """The YUV matrix to name to swscale, or None for its default (BT.601)."""
        return None if self.colorspace in _UNSPECIFIED_COLORSPACES else self.colorspace

    @property
    def swscale_range(self) -> Optional[int]:
        """The sample range to name to swscale, or None for its default (limited, unless a yuvj format)."""
        return self.color_range or None


# FFmpeg's AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, AVCOL_PRI_UNSPECIFIED, AVCOL_TRC_UNSPECIFIED.
UNSPECIFIED_COLOURS = Colours(colorspace=2, color_range=0, primaries=2, transfer=2)


@dataclass(frozen=True)
class SourceFrame:
    """A decoded frame: ``image`` upright BGR uint8, ``pts`` in the source stream's time base."""

    image: np.ndarray
    pts: Optional[int]


Event = Union[SourceFrame, av.Packet]


class VideoReader:
    """The best video stream of a file as upright BGR frames, and its audio streams as packets.

    Opening decodes the first frame, so a file that is no video, or has no frame, is refused at once
    and its orientation and colours are known before the writer is set up.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ObsBlurError(f"{path}: no such file")
        self.path = path
        try:
            self._container = av.open(str(path), mode="r")
        except AV_ERRORS as exc:
            raise ObsBlurError(f"{path}: not a readable video ({_reason(exc)})") from None
        try:
            self._open_streams()
            self._events = self._demux()
            self._pending = self._prime()
        except BaseException:
            self.close()
            raise

    def _open_streams(self) -> None:
        if not self._container.streams.video:
            raise ObsBlurError(f"{self.path}: not a readable video (it has no video stream)")
        self.video = self._container.streams.best("video")
        self.video.codec_context.thread_type = "AUTO"
        self.audio = list(self._container.streams.audio)
        self.frame_count: Optional[int] = self.video.frames or None
        self.time_base = _fraction(self.video.time_base) or Fraction(1, 90000)
        self.rate = _fraction(self.video.average_rate) or _fraction(self.video.guessed_rate) or FALLBACK_RATE
        self.quarter_turns = 0
        self.display_matrix: Optional[tuple[int, ...]] = None
        self.colours = UNSPECIFIED_COLOURS
        self.first_size = (0, 0)
        self._learned = False

    def _prime(self) -> list[Event]:
        """Read up to the first frame, keeping the audio met on the way for ``frames``."""
        pending: list[Event] = []
        for event in self._events:
            pending.append(event)
            if isinstance(event, SourceFrame):
                height, width = event.image.shape[:2]
                self.first_size = (width, height)  # upright
                return pending
        raise ObsBlurError(f"{self.path}: the video has no readable frames")

    def _demux(self) -> Iterator[Event]:
        """Decoded video frames and undecoded audio packets, in file order."""
        packets = self._container.demux(self.video, *self.audio)
        while True:
            packet = self._guard(lambda: next(packets, None))
            if packet is None:
                return
            if packet.stream.index != self.video.index:
                if packet.size:  # the empty packet at the end only flushes decoders
                    yield packet
                continue
            for frame in self._guard(packet.decode):
                yield self._guard(lambda frame=frame: self._convert(frame))

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except av.error.FFmpegError as exc:
            raise ObsBlurError(f"{self.path}: the video cannot be decoded ({_reason(exc)})") from None

    def _convert(self, frame: av.VideoFrame) -> SourceFrame:
        if not self._learned:
            self._learn(frame)
            self._learned = True
        colours = self.colours
        image = frame.to_ndarray(
            format="bgr24", src_colorspace=colours.swscale_matrix, src_color_range=colours.swscale_range
        )
        if self.quarter_turns:
            image = np.ascontiguousarray(np.rot90(image, self.quarter_turns))
        return SourceFrame(image, frame.pts)

    def _learn(self, frame: av.VideoFrame) -> None:
        """Orientation and colour description, from the first frame (the stream's, copied to frames)."""
        self.display_matrix = _display_matrix(frame)
        self.quarter_turns = round(frame.rotation / 90) % 4 if self.display_matrix else 0
        context = self.video.codec_context
        self.colours = Colours(
            int(frame.colorspace), int(frame.color_range), int(context.color_primaries), int(context.color_trc)
        )

    def frames(self, on_audio: Callable[[av.Packet], None]) -> Iterator[SourceFrame]:
        """Upright frames in presentation order; audio packets met on the way go to ``on_audio``."""
        pending, self._pending = self._pending, []
        for event in itertools.chain(pending, self._events):
            if isinstance(event, SourceFrame):
                yield event
            else:
                on_audio(event)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoWriter:
    """Encodes processed frames, and copies the source's audio, into a temporary file.

    ``commit`` finishes the file and renames it into place; leaving the ``with`` block without
    ``commit`` (an error, Ctrl+C) removes it, so no half-written video is ever left behind.
    """

    def __init__(self, path: Path, source: VideoReader, codec: Optional[str] = None) -> None:
        self.path = path
        self.codec = video_encoder(path, codec)
        self._source = source
        self._turns = source.quarter_turns if can_write_display_matrix() else 0
        self._format = CONTAINER_FORMATS[path.suffix.lower()]
        self._clock = _encoder_clock(self._format, source)
        self._last_pts: Optional[int] = None
        self.frames = 0
        self._tmp = create_temp(path)
        self._container: Optional[Any] = None
        try:
            self._open()
        except BaseException:
            self._discard()
            raise

    def _open(self) -> None:
        self._container = self._guard(lambda: av.open(str(self._tmp), mode="w", format=self._format))
        self._check_codecs()
        self._video = self._guard(self._add_video)
        self._audio = {s.index: self._container.add_stream_from_template(s, opaque=True) for s in self._source.audio}
        self._guard(self._container.start_encoding)

    def _check_codecs(self) -> None:
        """Refuse, in one sentence, a video encoder or an audio codec that the container cannot hold."""
        accepted = self._container.supported_codecs
        suffix = self.path.suffix.lower()
        if self.codec not in accepted:
            choices = [c for c in available_encoders() if c in accepted]
            advice = f"use --codec {' or '.join(choices)}, or another suffix" if choices else "use another suffix"
            raise ObsBlurError(f"{self.path}: a {suffix} file cannot hold {self.codec} video; {advice}")
        for stream in self._source.audio:
            name = getattr(stream.codec_context, "name", None)
            if name and name not in accepted:
                others = ", ".join(_suffixes_accepting(name)) or "no other suffix"
                raise ObsBlurError(
                    f"{self.path}: a {suffix} file cannot carry the input's {name} audio unchanged; "
                    f"write {others} instead"
                )

    def _add_video(self) -> Any:
        source = self._source
        width, height = source.first_size
        if self._turns % 2:
            width, height = height, width
        for name, value in ENCODER_ENVIRONMENT.get(self.codec, {}).items():
            os.environ.setdefault(name, value)
        stream = self._container.add_stream(self.codec, rate=source.rate, options=ENCODER_OPTIONS.get(self.codec, {}))
        self._pixel_format = _pixel_format(self.codec)
        _check_size(self.codec, self._pixel_format, width, height)
        stream.width, stream.height, stream.pix_fmt = width, height, self._pixel_format
        context = stream.codec_context
        context.time_base = self._clock
        colours = source.colours
        context.colorspace, context.color_range = colours.colorspace, colours.color_range
        context.color_primaries, context.color_trc = colours.primaries, colours.transfer
        if source.display_matrix and can_write_display_matrix():
            stream.set_display_matrix(list(source.display_matrix))
        return stream

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except AV_ERRORS as exc:
            raise ObsBlurError(f"{self.path}: cannot write the video ({_reason(exc)})") from None

    def _next_pts(self, pts: Optional[int]) -> int:
        """The frame's time on the encoder's clock, strictly after the previous frame's."""
        if pts is not None:
            ticks = round(pts * self._source.time_base / self._clock)
        elif self._last_pts is None:
            ticks = 0
        else:
            ticks = self._last_pts + max(1, round(1 / (self._source.rate * self._clock)))
        if self._last_pts is not None and ticks <= self._last_pts:
            ticks = self._last_pts + 1
        self._last_pts = ticks
        return ticks

    def write(self, source: SourceFrame, image: np.ndarray) -> None:
        """Encode ``image`` (upright BGR or BGRA) at the time of ``source``."""
        picture = image[..., :3]
        if self._turns:
            picture = np.rot90(picture, -self._turns)
        colours = self._source.colours
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="bgr24").reformat(
            format=self._pixel_format, dst_colorspace=colours.swscale_matrix, dst_color_range=colours.swscale_range
        )
        frame.pts, frame.time_base = self._next_pts(source.pts), self._clock
        self._guard(lambda: self._container.mux(self._video.encode(frame)))
        self.frames += 1

    def copy_audio(self, packet: av.Packet) -> None:
        """Mux one audio packet of the source as it is."""
        packet.stream = self._audio[packet.stream.index]
        self._guard(lambda: self._container.mux(packet))

    def commit(self) -> None:
        """Flush the encoder, finish the container and rename the file into place."""
        if not self.frames:
            raise ObsBlurError(f"{self._source.path}: the video has no readable frames")
        self._guard(lambda: self._container.mux(self._video.encode(None)))
        container, self._container = self._container, None
        self._guard(container.close)
        commit_temp(self._tmp, self.path)

    def _discard(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(*AV_ERRORS):  # the file is thrown away; its trailer does not matter
                container.close()
        discard_temp(self._tmp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._discard()


def _encoder_clock(format_name: str, source: VideoReader) -> Fraction:
    """The encoder's time base: the source's where the container and encoder allow, so no time is rounded."""
    if format_name in FRAME_CLOCK_FORMATS:
        return (1 / source.rate).limit_denominator(MAX_CLOCK_DENOMINATOR)
    if source.time_base.denominator <= MAX_CLOCK_DENOMINATOR:
        return source.time_base
    return FINE_CLOCK


def _pixel_format(codec: str) -> str:
    """yuv420p, what every player decodes, unless the encoder cannot take it."""
    formats = [f.name for f in (av.Codec(codec, "w").video_formats or ())]
    return PIXEL_FORMAT if not formats or PIXEL_FORMAT in formats else formats[0]


def _check_size(codec: str, pixel_format: str, width: int, height: int) -> None:
    """Subsampled chroma (4:2:0, 4:2:2) needs an even width (and height); say so instead of FFmpeg's EINVAL."""
    layout = av.VideoFormat(pixel_format)
    odd_width = width % 2 and layout.chroma_width(2) < 2
    odd_height = height % 2 and layout.chroma_height(2) < 2
    if odd_width or odd_height:
        raise ObsBlurError(
            f"{codec} in {pixel_format} needs an even width and height, and this video is {width}x{height}: "
            "crop or scale it by a pixel first"
        )
