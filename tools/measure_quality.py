#!/usr/bin/env python3
"""Measure mask quality on real footage with ground truth: IoU, boundary F-score, flicker and lag.

    python tools/measure_quality.py [--data ../shared/data/dev] [--models mediapipe-landscape ...]

Images (``images/NNN.jpg`` + ``masks/NNN.png``): IoU and boundary F-score at 3 px of the raw mask
(bilinear upsampling + the same edge band) against the refined mask (edge-aware guided upsampling).
Clip (``davis_lucia/frames`` + ``masks``): IoU, flicker (mean |Δp| between consecutive frames on
pixels whose ground truth did not change) and lag (IoU against the *previous* frame's ground truth:
a mask that lags matches the past better than the present) for no smoothing, a plain EMA (0.85, the
leading C++ plugin's default) and our adaptive smoothing. Prints Markdown tables for docs/QUALITY.md.
The data set is licensed for research only and is never committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obs_blur.model_choice import AUTO
from obs_blur.pipeline import MaskPipeline, ModelPipelines
from obs_blur.refine import apply_coefficients, band_coefficients, bilinear_alpha, refine_mask
from obs_blur.temporal import CoefficientSmoother, MaskSmoother

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dev"


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    mask8 = mask.astype(np.uint8)
    return (mask8 - cv2.erode(mask8, np.ones((3, 3), np.uint8))) > 0


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 3.0) -> float:
    """F-score of boundary pixels matched within ``tolerance`` px (the DAVIS contour measure)."""
    pb, tb = _boundary(pred), _boundary(truth)
    if not pb.any() and not tb.any():
        return 1.0
    if not pb.any() or not tb.any():
        return 0.0
    dist_to_truth = cv2.distanceTransform((~tb).astype(np.uint8), cv2.DIST_L2, 3)
    dist_to_pred = cv2.distanceTransform((~pb).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((dist_to_truth[pb] <= tolerance).mean())
    recall = float((dist_to_pred[tb] <= tolerance).mean())
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _read_mask(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127


def image_table(data: Path, models: list[str]) -> list[str]:
    rows = ["| model | upsampling | IoU | boundary F @3px |", "|---|---|---|---|"]
    images = sorted((data / "images").glob("*.jpg"))
    for model in models:
        pipeline = MaskPipeline.load(model)
        scores: dict[str, list[tuple[float, float]]] = {"bilinear (raw)": [], "guided (ours)": []}
        for image_path in images:
            frame = cv2.imread(str(image_path))
            truth = _read_mask(data / "masks" / f"{image_path.stem}.png")
            mask, small = pipeline.segmenter.predict_with_capture(frame)
            for name, alpha in (
                ("bilinear (raw)", bilinear_alpha(frame.shape, mask)),
                ("guided (ours)", refine_mask(frame, small, mask)),
            ):
                pred = alpha > 127
                scores[name].append((iou(pred, truth), boundary_f(pred, truth)))
        for name, values in scores.items():
            mean = np.mean(values, axis=0)
            rows.append(f"| {model} | {name} | {mean[0]:.3f} | {mean[1]:.3f} |")
    return rows


def _ema(weight: float) -> Callable[[np.ndarray], np.ndarray]:
    state: dict[str, np.ndarray] = {}

    def smooth(mask: np.ndarray) -> np.ndarray:
        previous = state.get("s")
        state["s"] = mask.copy() if previous is None else weight * previous + (1 - weight) * mask
        return state["s"]

    return smooth


def clip_table(data: Path, models: list[str]) -> list[str]:
    clip = data / "davis_lucia"
    frames = sorted((clip / "frames").glob("*.jpg"))
    truths = [_read_mask(clip / "masks" / f"{f.stem}.png") for f in frames]
    rows = [
        "| model | smoothing | IoU | IoU vs previous GT (lag if higher) | flicker mean abs dp on GT-stable px |",
        "|---|---|---|---|---|",
    ]
    for model in models:
        pipeline = MaskPipeline.load(model)
        variants: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Optional[CoefficientSmoother]]] = {
            "none (raw, bilinear)": (_unchanged, None),
            "none (guided)": (_unchanged, None),
            "EMA 0.85, the leading peer's default (guided)": (_ema(0.85), None),
            "adaptive, the mask only (guided)": (MaskSmoother(), None),
            "adaptive, the mask and the coefficients: ours (guided)": (MaskSmoother(), CoefficientSmoother()),
        }
        for name, (smooth, smooth_coefficients) in variants.items():
            probabilities = []
            for frame_path in frames:
                frame = cv2.imread(str(frame_path))
                mask, small = pipeline.segmenter.predict_with_capture(frame)
                smoothed = smooth(mask).astype(np.float32)
                if name.endswith("bilinear)"):
                    alpha = bilinear_alpha(frame.shape, smoothed)
                else:
                    coefficients = band_coefficients(small, smoothed)
                    if smooth_coefficients is not None:
                        coefficients = smooth_coefficients(coefficients, smoothed)
                    alpha = apply_coefficients(coefficients, frame)
                probabilities.append(alpha.astype(np.float32) / 255)
            rows.append(_clip_row(model, name, probabilities, truths))
    return rows


def _unchanged(mask: np.ndarray) -> np.ndarray:
    return mask


def _clip_row(model: str, name: str, probabilities: list[np.ndarray], truths: list[np.ndarray]) -> str:
    ious = [iou(p > 0.5, t) for p, t in zip(probabilities, truths)]
    lagged = [iou(p > 0.5, t) for p, t in zip(probabilities[1:], truths[:-1])]
    return f"| {model} | {name} | {np.mean(ious):.3f} | {np.mean(lagged):.3f} | {_flicker(probabilities, truths):.4f} |"


#: Frame shapes (width / height) cut around the person for the model-choice table.
CHOICE_ASPECTS = {"9:16 (phone, portrait)": 9 / 16, "3:4": 3 / 4, "1:1": 1.0, "4:3": 4 / 3, "16:9": 16 / 9}
#: Heights of the 16:9 cuts, as shares of the frame's height: the smaller, the larger the person in it.
CHOICE_SCALES = (1.0, 0.8, 0.6, 0.45)
#: Person-share buckets of the 16:9 cuts.
CHOICE_SHARES = ((0.0, 0.05), (0.05, 0.16), (0.16, 0.24), (0.24, 1.0))
CHOICE_MODELS = ("mediapipe-landscape", "mediapipe-general", AUTO)


def model_choice_table(data: Path) -> list[str]:
    """IoU / boundary F of each model and of ``auto`` on cuts of every shape and person size.

    The 25 images and every 7th frame of ``lucia``, each cut around the person's box to a frame shape
    (as tall as the picture allows), and to 16:9 at four heights (the person larger in the smaller
    cuts). ``auto`` is what the filter settles on for each cut (``ModelPipelines.for_picture``).
    """
    pictures = _choice_pictures(data)
    rows = [
        "| frame | person share | n | landscape | general | auto (share of cuts on general) |",
        "|---|---|---|---|---|---|",
    ]
    for name, aspect in CHOICE_ASPECTS.items():
        cuts = [_cut(picture, truth, aspect, 1.0) for picture, truth in pictures]
        rows.append(_choice_row(name, "all", cuts))
    wide = [_cut(picture, truth, 16 / 9, scale) for picture, truth in pictures for scale in CHOICE_SCALES]
    for low, high in CHOICE_SHARES:
        cuts = [(cut, truth) for cut, truth in wide if low <= truth.mean() < high]
        rows.append(_choice_row("16:9, cut smaller", f"{100 * low:.0f}-{100 * high:.0f} %", cuts))
    return rows


def _choice_pictures(data: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    images = sorted((data / "images").glob("*.jpg"))
    pictures = [(cv2.imread(str(path)), _read_mask(data / "masks" / f"{path.stem}.png")) for path in images]
    clip = data / "davis_lucia"
    for frame in sorted((clip / "frames").glob("*.jpg"))[::7]:
        pictures.append((cv2.imread(str(frame)), _read_mask(clip / "masks" / f"{frame.stem}.png")))
    return pictures


def _cut(picture: np.ndarray, truth: np.ndarray, aspect: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The largest ``aspect`` cut of ``scale`` times the picture's height, centred on the person's box."""
    full_height, full_width = truth.shape
    rows, columns = np.nonzero(truth)
    centre_y, centre_x = (rows.min() + rows.max()) / 2, (columns.min() + columns.max()) / 2
    width = min(full_width, full_height * scale * aspect)
    height = int(width / aspect)
    width = int(width)
    top = int(np.clip(centre_y - height / 2, 0, full_height - height))
    left = int(np.clip(centre_x - width / 2, 0, full_width - width))
    return picture[top : top + height, left : left + width], truth[top : top + height, left : left + width]


def _choice_row(frame: str, share: str, cuts: list[tuple[np.ndarray, np.ndarray]]) -> str:
    scores: dict[str, list[tuple[float, float]]] = {model: [] for model in CHOICE_MODELS}
    on_general = 0
    for model in CHOICE_MODELS:
        pipelines = ModelPipelines(model)
        for picture, truth in cuts:
            pipeline = pipelines.for_picture(picture)
            on_general += model == AUTO and pipeline.model_name == "mediapipe-general"
            pred = pipeline.alpha(picture) > 127  # the mask the filter settles on for this picture
            scores[model].append((iou(pred, truth), boundary_f(pred, truth)))
    cells = [f"{np.mean(values, axis=0)[0]:.3f} / {np.mean(values, axis=0)[1]:.3f}" for values in scores.values()]
    cells[-1] += f" ({100 * on_general / max(len(cuts), 1):.0f} %)"
    return f"| {frame} | {share} | {len(cuts)} | {' | '.join(cells)} |"


def region_table(data: Path, models: list[str]) -> list[str]:
    """The whole pipeline with and without the crop around the person (``region_of_interest``).

    Images: the mask the filter settles on for each (``MaskPipeline.settle_on``). ``lucia``: frame
    after frame with the temporal smoothing, flicker also as a multiple of the model's raw mask's
    (whole frame, bilinear, no smoothing).
    """
    images = sorted((data / "images").glob("*.jpg"))
    pictures = [(cv2.imread(str(path)), _read_mask(data / "masks" / f"{path.stem}.png")) for path in images]
    clip = data / "davis_lucia"
    frames = [cv2.imread(str(path)) for path in sorted((clip / "frames").glob("*.jpg"))]
    truths = [_read_mask(clip / "masks" / f"{index:05d}.png") for index in range(len(frames))]
    rows = [
        "| model | crop | images IoU / BF | lucia IoU / BF | lucia IoU vs previous GT | lucia flicker (x raw) |",
        "|---|---|---|---|---|---|",
    ]
    for model in models:
        raw_pipeline = MaskPipeline.load(model)
        raw = [bilinear_alpha(f.shape, raw_pipeline.segmenter.predict(f)).astype(np.float32) / 255 for f in frames]
        raw_flicker = _flicker(raw, truths)
        for crop in (False, True):
            pipeline = MaskPipeline.load(model, region_of_interest=crop)
            still = []
            for picture, truth in pictures:
                pipeline.settle_on(picture)
                pred = pipeline.alpha(picture) > 127
                still.append((iou(pred, truth), boundary_f(pred, truth)))
            pipeline.reset()
            alphas = [pipeline.alpha(frame).astype(np.float32) / 255 for frame in frames]
            moving = [(iou(a > 0.5, t), boundary_f(a > 0.5, t)) for a, t in zip(alphas, truths)]
            lagged = np.mean([iou(a > 0.5, t) for a, t in zip(alphas[1:], truths[:-1])])
            flicker = _flicker(alphas, truths)
            image_mean, clip_mean = np.mean(still, axis=0), np.mean(moving, axis=0)
            rows.append(
                f"| {model} | {'yes' if crop else 'no'} | {image_mean[0]:.3f} / {image_mean[1]:.3f} "
                f"| {clip_mean[0]:.3f} / {clip_mean[1]:.3f} | {lagged:.3f} "
                f"| {flicker:.4f} ({flicker / raw_flicker:.2f}x) |"
            )
    return rows


def _flicker(probabilities: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Mean |dp| between consecutive frames on the pixels whose ground truth did not change."""
    steps = [
        np.abs(probabilities[t] - probabilities[t - 1])[truths[t] == truths[t - 1]].mean()
        for t in range(1, len(probabilities))
    ]
    return float(np.mean(steps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with images/, masks/, davis_lucia/")
    parser.add_argument("--models", nargs="*", default=["mediapipe-landscape", "mediapipe-general"])
    args = parser.parse_args()
    if not (args.data / "images").is_dir():
        print(f"error: no dev data at {args.data}", file=sys.stderr)
        return 2
    print("\n".join(image_table(args.data, args.models)))
    print()
    print("\n".join(clip_table(args.data, args.models)))
    print()
    print("\n".join(model_choice_table(args.data)))
    print()
    print("\n".join(region_table(args.data, args.models)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
