"""Command line: run the filter's pipeline on files, benchmark it, and diagnose the installation.

Every failure a user can cause (missing file, unreadable image or video, unknown model or encoder,
corrupt model, full disk) ends with one sentence on stderr and exit status 2, never a traceback and
never a half-written file. Videos are read and written by ``video_io`` (PyAV), imported only when a
video is named, so images, ``bench`` and ``doctor`` start without loading FFmpeg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from obs_blur.compositor import CompositeSettings, composite
from obs_blur.errors import ObsBlurError
from obs_blur.full_size_planes import FullSizePlanes
from obs_blur.media_io import kind_of, read_image, write_image
from obs_blur.model_choice import AUTO, AUTO_HELP, auto_offered
from obs_blur.modes import DEFAULT_MODE, MODE_NAMES, Composite, Setting, mode_named
from obs_blur.pipeline import ModelPipelines
from obs_blur.progress import Progress
from obs_blur.segmentation.providers import DEVICES

if TYPE_CHECKING:
    from obs_blur.video_io import VideoReader, VideoWriter

DESCRIPTION = """\
obs-blur: background blur for video calls, as an OBS Studio filter.
These commands run the filter's own pipeline (the same models and mask refinement) on files,
without OBS. Examples:
  python -m obs_blur blur call.mp4 blurred.mp4 --strength 60   # H.264, audio copied as it is
  python -m obs_blur blur me.png me-green.png --mode color --color 0,177,64
  python -m obs_blur mask photo.jpg --out masks/               # person masks as PNG (255 = person)
  python -m obs_blur bench                                     # how fast is it on this machine?
  python -m obs_blur doctor                                    # what is installed, what will run
"""


def _model_help() -> str:
    try:
        from obs_blur.segmentation.manifest import load_manifest

        manifest = load_manifest()
        if auto_offered(manifest.names):
            return f"segmentation model: {AUTO} (default: {AUTO_HELP}), {', '.join(manifest.names)}"
        return f"segmentation model: {', '.join(manifest.names)} (default {manifest.default})"
    except ObsBlurError:
        return "segmentation model name (see `doctor`)"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help=_model_help())
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where inference runs (default: auto)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m obs_blur", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    mask = commands.add_parser("mask", help="write person masks of images as PNG (255 = person)")
    mask.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="input images")
    mask.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for DIR/<name>.png")
    _add_common(mask)

    blur = commands.add_parser("blur", help="blur or replace the background of an image or video file")
    blur.add_argument("input", type=Path, metavar="INPUT", help="image or video file")
    blur.add_argument("output", type=Path, metavar="OUTPUT", help="file to write, of the same kind as INPUT")
    blur.add_argument(
        "--mode",
        choices=MODE_NAMES,
        default=DEFAULT_MODE,
        help=f"what to do with the background (default {DEFAULT_MODE})",
    )
    blur.add_argument("--strength", type=float, default=50.0, metavar="N", help="blur strength 0-100 (default 50)")
    blur.add_argument(
        "--lens-depth", action="store_true", help="--mode lens: lighter blur next to the person, more farther away"
    )
    blur.add_argument("--color", default="0,177,64", metavar="R,G,B", help="background colour for --mode color")
    blur.add_argument("--background", type=Path, metavar="IMAGE", help="background picture for --mode image")
    blur.add_argument(
        "--codec",
        metavar="NAME",
        help="video encoder (default libx264, i.e. H.264; libvpx-vp9 for .webm, mpeg4 for .avi); "
        "others: libx265, libsvtav1, ...",
    )
    _add_common(blur)

    bench = commands.add_parser("bench", help="time every stage per model at 720p and 1080p")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    bench.add_argument("--frames", type=int, default=200, metavar="N", help="timed frames per case (default 200)")
    bench.add_argument("--models", nargs="*", metavar="NAME", help="models to time (default: the shipped ones)")
    bench.add_argument(
        "--image", type=Path, help="photo to build frames from (default: the astronaut photo in obs_blur/data)"
    )
    bench.add_argument("--device", choices=DEVICES, default="auto", help="where inference runs (default: auto)")
    bench.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default 1)")

    commands.add_parser("doctor", help="show versions, execution providers and model status")
    return parser


def parse_color(text: str) -> tuple[int, int, int]:
    """'R,G,B' or '#RRGGBB' → (B, G, R) for OpenCV."""
    try:
        if text.startswith("#") and len(text) == 7:
            r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
        else:
            r, g, b = (int(part) for part in text.split(","))
    except ValueError:
        raise ObsBlurError(f"colour {text!r} is not R,G,B or #RRGGBB") from None
    if not all(0 <= c <= 255 for c in (r, g, b)):
        raise ObsBlurError(f"colour {text!r} has a component outside 0-255")
    return (b, g, r)


def run_mask(args: argparse.Namespace) -> int:
    for image in args.images:
        if kind_of(image) != "image":
            raise ObsBlurError(f"{image}: `mask` takes images; for a video use `blur --mode mask`")
        if not image.is_file():
            raise ObsBlurError(f"{image}: no such file")
    pipelines = ModelPipelines(args.model, device=args.device, threads=args.threads)
    with Progress(len(args.images), "images") as bar:
        for image_path in args.images:
            frame = read_image(image_path)
            write_image(args.out / f"{image_path.stem}.png", pipelines.for_picture(frame).alpha(frame))
            bar.advance()
    return 0


def _composite_settings(args: argparse.Namespace) -> CompositeSettings:
    image = read_image(args.background) if args.background is not None else None
    if Setting.PICTURE in mode_named(args.mode).settings and image is None:
        raise ObsBlurError(f"--mode {args.mode} needs --background IMAGE")
    if not 0 <= args.strength <= 100:
        raise ObsBlurError(f"--strength {args.strength:g} is outside 0-100")
    if args.lens_depth and Setting.LENS_DEPTH not in mode_named(args.mode).settings:
        raise ObsBlurError(f"--lens-depth applies to --mode lens, not --mode {args.mode}")
    return CompositeSettings(
        mode=args.mode, strength=args.strength, color=parse_color(args.color), image=image, lens_depth=args.lens_depth
    )


def run_blur(args: argparse.Namespace) -> int:
    kind = kind_of(args.input)
    if kind_of(args.output) != kind:
        raise ObsBlurError(f"{args.output}: output must be a {kind} file like the input")
    if args.input.resolve() == args.output.resolve():
        raise ObsBlurError("output would overwrite the input: choose another file name")
    settings = _composite_settings(args)
    if kind == "video":
        return _blur_video(args, settings)
    if args.codec is not None:
        raise ObsBlurError("--codec applies to video output only")
    frame = read_image(args.input)
    pipeline = ModelPipelines(args.model, device=args.device, threads=args.threads).for_picture(frame)
    alpha, exclude = pipeline.alpha_and_exclusion(frame)
    write_image(args.output, composite(frame, alpha, settings, exclude))
    return 0


def _import_video_io() -> None:
    """Fail with one sentence where PyAV is missing (an environment made without ``pip install -e .``)."""
    try:
        import obs_blur.video_io  # noqa: F401
    except ImportError as exc:
        raise ObsBlurError(f"video files need PyAV ({exc}): run `pip install av`") from None


def _blur_video(args: argparse.Namespace, settings: CompositeSettings) -> int:
    """Everything a user can get wrong (input, encoder, container, output folder) fails before the model loads."""
    if mode_named(settings.mode).composite is Composite.ALPHA_CHANNEL:
        raise ObsBlurError("transparent output needs an image format with alpha (.png); videos cannot carry it here")
    _import_video_io()
    from obs_blur.video_io import VideoReader, VideoWriter, video_encoder

    codec = video_encoder(args.output, args.codec)
    with VideoReader(args.input) as reader, VideoWriter(args.output, reader, codec) as writer:
        pipelines = ModelPipelines(args.model, device=args.device, threads=args.threads)
        if pipelines.model != AUTO:
            pipelines.get(pipelines.model)  # an unknown or broken model fails before any frame is read
        _process_frames(reader, writer, pipelines, settings)
        writer.commit()
    return 0


def _process_frames(
    reader: VideoReader, writer: VideoWriter, pipelines: ModelPipelines, settings: CompositeSettings
) -> None:
    planes = FullSizePlanes()  # the composite's scratch, reused from frame to frame
    with Progress(reader.frame_count, "frames") as bar:
        for index, frame in enumerate(reader.frames(on_audio=writer.copy_audio)):
            pipeline = pipelines.for_video_frame(frame.image)
            alpha, exclude = pipeline.alpha_and_exclusion(frame.image)
            pipelines.observe(pipeline, index / float(reader.rate))  # the time the filter would see it
            writer.write(frame, composite(frame.image, alpha, settings, exclude, planes))
            bar.advance()


def run_bench(args: argparse.Namespace) -> int:
    from obs_blur.bench import run_benchmark

    return run_benchmark(args)


def run_doctor(args: argparse.Namespace) -> int:
    from obs_blur.doctor import run_doctor as doctor

    return doctor()


COMMANDS = {"mask": run_mask, "blur": run_blur, "bench": run_bench, "doctor": run_doctor}


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ObsBlurError as exc:
        print(f"obs-blur: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"obs-blur: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("obs-blur: interrupted", file=sys.stderr)
        return 130
