"""Frame → person alpha: the segmenter, temporal smoothing and refinement wired together.

The OBS filter and the command line run this same pipeline, so ``python -m obs_blur mask`` writes
the mask the filter uses. The split mirrors the filter's: ``low_res_mask`` is the per-frame CPU work
(preprocess, inference, smoothing at capture size), ``capture_coefficients`` adds the cheap
capture-size half of the refinement, and ``alpha`` adds the full-resolution half that the filter
runs on the GPU.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from obs_blur.refine import DEFAULT_REFINE, RefineSettings, band_coefficients, guide_from_frame, refine_with_weights
from obs_blur.segmentation.base import Segmenter
from obs_blur.segmentation.families import load_segmenter
from obs_blur.temporal import MaskSmoother

DEFAULT_SMOOTHING = 0.8


class MaskPipeline:
    """One model plus the state that belongs to one video stream (temporal smoothing)."""

    def __init__(
        self,
        segmenter: Segmenter,
        smoothing: float = DEFAULT_SMOOTHING,
        refine: RefineSettings = DEFAULT_REFINE,
    ) -> None:
        self.segmenter = segmenter
        self.smoother = MaskSmoother(smoothing)
        self.refine = refine

    @classmethod
    def load(
        cls,
        model: Optional[str] = None,
        device: str = "auto",
        threads: Optional[int] = None,
        smoothing: float = DEFAULT_SMOOTHING,
        refine: RefineSettings = DEFAULT_REFINE,
    ) -> MaskPipeline:
        """Load a model by manifest name (verified) and wrap it in a pipeline."""
        return cls(load_segmenter(model, device=device, threads=threads), smoothing, refine)

    @property
    def model_name(self) -> str:
        return self.segmenter.spec.name

    def capture_size(self, width: int, height: int) -> tuple[int, int]:
        """Size at which the filter should capture a ``width`` x ``height`` frame."""
        return self.segmenter.capture_size(width, height)

    def reset(self) -> None:
        """Start a new stream: forget temporal history (use between unrelated images)."""
        self.smoother.reset()

    def low_res_mask(self, frame: np.ndarray) -> np.ndarray:
        """Smoothed person probability at capture size: the filter's per-frame CPU work."""
        return self.smoother(self.segmenter.predict(frame))

    def capture_coefficients(self, small_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For a frame already at capture size: (refinement coefficients (h, w, 2), smoothed mask)."""
        mask = self.low_res_mask(small_frame)
        return band_coefficients(guide_from_frame(small_frame), mask, self.refine), mask

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """Full pipeline: frame (BGR/BGRA) → uint8 alpha of the same size, 255 = person."""
        return self.alpha_and_exclusion(frame)[0]

    def alpha_and_exclusion(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person alpha, the wider alpha kept out of the background blur), both uint8 full size."""
        mask, small = self.segmenter.predict_with_capture(frame)
        return refine_with_weights(frame, small, self.smoother(mask), self.refine)
