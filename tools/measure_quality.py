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
from typing import Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obs_blur.pipeline import MaskPipeline
from obs_blur.refine import bilinear_alpha, refine_mask
from obs_blur.temporal import MaskSmoother

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
        variants: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "none (raw, bilinear)": lambda m: m,
            "none (guided)": lambda m: m,
            "EMA 0.85, the leading peer's default (guided)": _ema(0.85),
            "adaptive, ours (guided)": MaskSmoother(),
        }
        for name, smooth in variants.items():
            probabilities = []
            for frame_path in frames:
                frame = cv2.imread(str(frame_path))
                mask, small = pipeline.segmenter.predict_with_capture(frame)
                smoothed = smooth(mask).astype(np.float32)
                if name.endswith("bilinear)"):
                    alpha = bilinear_alpha(frame.shape, smoothed)
                else:
                    alpha = refine_mask(frame, small, smoothed)
                probabilities.append(alpha.astype(np.float32) / 255)
            rows.append(_clip_row(model, name, probabilities, truths))
    return rows


def _clip_row(model: str, name: str, probabilities: list[np.ndarray], truths: list[np.ndarray]) -> str:
    ious = [iou(p > 0.5, t) for p, t in zip(probabilities, truths)]
    lagged = [iou(p > 0.5, t) for p, t in zip(probabilities[1:], truths[:-1])]
    flicker = []
    for t in range(1, len(probabilities)):
        stable = truths[t] == truths[t - 1]
        flicker.append(np.abs(probabilities[t] - probabilities[t - 1])[stable].mean())
    return f"| {model} | {name} | {np.mean(ious):.3f} | {np.mean(lagged):.3f} | {np.mean(flicker):.4f} |"


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
