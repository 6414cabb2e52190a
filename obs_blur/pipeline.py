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

from obs_blur.model_choice import (
    AUTO,
    ModelChooser,
    auto_offered,
    choice_for_frame,
    choice_for_picture,
    is_wide,
    person_share,
)
from obs_blur.refine import DEFAULT_REFINE, RefineSettings, band_coefficients, guide_from_frame, refine_with_weights
from obs_blur.segmentation.base import Segmenter
from obs_blur.segmentation.families import load_segmenter
from obs_blur.segmentation.manifest import load_manifest
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
        self.last_mask: Optional[np.ndarray] = None  # the smoothed capture-size mask of the last alpha

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
        self.last_mask = self.smoother(self.segmenter.predict(frame))
        return self.last_mask

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
        self.last_mask = self.smoother(mask)
        return refine_with_weights(frame, small, self.last_mask, self.refine)


class ModelPipelines:
    """The pipeline for each frame of the command line's inputs, ``auto`` resolved as the filter does.

    Each model is loaded once. A photo gets the model the filter settles on for it
    (``model_choice.choice_for_picture``); a video's frames follow a ``ModelChooser`` on the video's
    own clock, and a switch starts the new model's smoothing afresh, as the filter's worker does
    when it loads the other model.
    """

    def __init__(self, model: Optional[str], device: str = "auto", threads: Optional[int] = None) -> None:
        self.model = model if model is not None else _default_model()
        self._device, self._threads = device, threads
        self._loaded: dict[str, MaskPipeline] = {}
        self._chooser = ModelChooser()

    def get(self, name: str) -> MaskPipeline:
        if name not in self._loaded:
            self._loaded[name] = MaskPipeline.load(name, device=self._device, threads=self._threads)
        return self._loaded[name]

    def for_picture(self, frame: np.ndarray) -> MaskPipeline:
        """The pipeline for one photo, its smoothing reset (unrelated photos share nothing)."""
        if self.model != AUTO:
            pipeline = self.get(self.model)
        else:
            height, width = frame.shape[:2]
            share = None
            if is_wide(width, height):
                first = self.get(choice_for_frame(width, height).model)
                first.reset()
                share = person_share(first.low_res_mask(frame))
            pipeline = self.get(choice_for_picture(width, height, share).model)
        pipeline.reset()
        return pipeline

    def for_video_frame(self, frame: np.ndarray) -> MaskPipeline:
        """The pipeline for a video's next frame; after its alpha, ``observe`` it."""
        if self.model != AUTO:
            return self.get(self.model)
        height, width = frame.shape[:2]
        return self.get(self._chooser.for_frame(width, height).model)

    def observe(self, pipeline: MaskPipeline, time_s: float) -> None:
        """Tell the ``auto`` choice how much of the frame the person filled in ``pipeline``'s last mask."""
        if self.model == AUTO and pipeline.last_mask is not None:
            switched = self._chooser.observe(person_share(pipeline.last_mask), pipeline.model_name, time_s)
            if switched is not None:
                self.get(switched.model).reset()


def _default_model() -> str:
    """``auto`` where both its models are installed, else the manifest's default."""
    manifest = load_manifest()
    return AUTO if auto_offered(manifest.names) else manifest.default
