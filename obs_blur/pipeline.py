"""Frame → person alpha: the segmenter, the crop around the person, temporal smoothing and refinement.

The OBS filter and the command line run this same pipeline, so ``python -m obs_blur mask`` writes
the mask the filter uses. The split mirrors the filter's: ``low_res_mask`` is the per-frame CPU work
(preprocess, inference on the whole frame or on a crop around the person, smoothing on the mask's
grid), ``capture_coefficients`` adds the cheap low-resolution half of the refinement, ``alpha``
adds the full-resolution half that the filter runs on the GPU, and ``look_around`` is the work done
after the mask has gone out (``region_of_interest``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from obs_blur.full_size_planes import FullSizePlanes
from obs_blur.model_choice import (
    AUTO,
    ModelChooser,
    auto_offered,
    choice_for_frame,
    choice_for_picture,
    is_wide,
    person_share,
)
from obs_blur.refine import DEFAULT_REFINE, RefineSettings, alphas_from_coefficients, band_coefficients
from obs_blur.region_of_interest import CaptureWindow, RegionTracker, capture_window, crop_input, place_back
from obs_blur.segmentation.base import Segmenter, check_frame
from obs_blur.segmentation.families import load_segmenter
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.still_picture import coefficients_settled
from obs_blur.temporal import CoefficientSmoother, MaskSmoother

DEFAULT_SMOOTHING = 0.8
#: The most masks a photo gets on the command line while its mask settles (the filter has no limit).
SETTLE_LIMIT = 100

Size = tuple[int, int]


class MaskPipeline:
    """One model plus the state that belongs to one video stream (temporal smoothing, the crop)."""

    def __init__(
        self,
        segmenter: Segmenter,
        smoothing: float = DEFAULT_SMOOTHING,
        refine: RefineSettings = DEFAULT_REFINE,
        region_of_interest: bool = True,
    ) -> None:
        self.segmenter = segmenter
        self.smoother = MaskSmoother(smoothing)
        self.coefficient_smoother = CoefficientSmoother(smoothing)
        self.refine = refine
        self.last_mask: Optional[np.ndarray] = None  # the smoothed mask of the last frame, on the mask's grid
        #: Where the model looks next; None for a family whose capture holds no extra detail.
        self.regions = RegionTracker(_model_aspect(segmenter)) if region_of_interest and segmenter.detail > 1 else None
        self._whole_view: Optional[tuple[np.ndarray, float]] = None  # the last frame for ``look_around``
        self._full_size = FullSizePlanes()  # the command line's refinement scratch, reused frame to frame

    @classmethod
    def load(
        cls,
        model: Optional[str] = None,
        device: str = "auto",
        threads: Optional[int] = None,
        smoothing: float = DEFAULT_SMOOTHING,
        refine: RefineSettings = DEFAULT_REFINE,
        region_of_interest: bool = True,
    ) -> MaskPipeline:
        """Load a model by manifest name (verified) and wrap it in a pipeline."""
        segmenter = load_segmenter(model, device=device, threads=threads)
        return cls(segmenter, smoothing, refine, region_of_interest)

    @property
    def model_name(self) -> str:
        return self.segmenter.spec.name

    def capture_size(self, width: int, height: int) -> Size:
        """Size at which the filter should capture a ``width`` x ``height`` frame."""
        return self.segmenter.capture_size(width, height)

    def reset(self) -> None:
        """Start a new stream: forget temporal history and the crop (use between unrelated images)."""
        self.smoother.reset()
        self.coefficient_smoother.reset()
        if self.regions is not None:
            self.regions.reset()
        self._whole_view = None

    def low_res_mask(self, frame: np.ndarray, frame_size: Optional[Size] = None) -> np.ndarray:
        """Smoothed person probability on the mask's grid: the filter's per-frame CPU work.

        ``frame`` is a full frame or a capture; ``frame_size`` is the video's (width, height), which
        a capture does not show (its own shape when omitted).
        """
        self._segment(frame, frame_size)
        assert self.last_mask is not None
        return self.last_mask

    def capture_coefficients(
        self, capture: np.ndarray, frame_size: Optional[Size] = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(refinement coefficients (h, w, 4) on the fit's grid, half the mask's; smoothed mask on the mask's grid)."""
        view = self._segment(capture, frame_size)
        coefficients = self._coefficients(view)
        assert self.last_mask is not None
        return coefficients, self.last_mask

    def set_smoothing(self, strength: float) -> None:
        """The temporal smoothing's strength (0..1) for the mask and the coefficients alike, history kept."""
        strength = min(max(strength, 0.0), 1.0)
        self.smoother.strength = self.coefficient_smoother.strength = strength

    @property
    def crop_share(self) -> float:
        """The share of the frame the model looks at next (1: the whole frame; ``region_of_interest``)."""
        return self.regions.crop_share if self.regions is not None else 1.0

    def look_around(self) -> None:
        """After a mask has gone out: now and then the model sees the whole frame, to find newcomers."""
        regions, whole = self.regions, self._whole_view
        if regions is None or whole is None or not regions.look_around_due:
            return
        view, frame_aspect = whole
        regions.looked_around(self.segmenter.predict_view(view), frame_aspect)

    def settle_on(self, picture: np.ndarray) -> None:
        """Segment a photo again and again, as the filter does a still picture, until its mask settles.

        The filter sends a picture that does not change until two masks in a row agree
        (``still_picture``); by then the crop has found the person and the smoothing has caught up.
        The next ``alpha`` of the same picture is that mask.
        """
        self.reset()
        previous = None
        for _ in range(SETTLE_LIMIT):
            coefficients = self.capture_coefficients(picture)[0]
            self.look_around()
            if previous is not None and coefficients_settled(previous, coefficients):
                return
            previous = coefficients

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """Full pipeline: frame (BGR/BGRA) → uint8 alpha of the same size, 255 = person."""
        return self.alpha_and_exclusion(frame)[0]

    def alpha_and_exclusion(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person alpha, the wider alpha kept out of the background blur), both uint8 full size."""
        view = self._segment(frame, None)
        coefficients = self._coefficients(view)
        assert self.last_mask is not None
        alphas = alphas_from_coefficients(frame, coefficients, self.last_mask, self._full_size)
        self.look_around()
        return alphas

    def _coefficients(self, view: np.ndarray) -> np.ndarray:
        """The refinement's coefficients for the last mask, fitted to ``view`` and smoothed over time."""
        assert self.last_mask is not None
        return self.coefficient_smoother(band_coefficients(view, self.last_mask, self.refine), self.last_mask)

    def _segment(self, frame: np.ndarray, frame_size: Optional[Size]) -> np.ndarray:
        """Segment one frame (whole, or the crop around the person), smooth it; returns the model's whole view.

        ``frame_size`` is given for a capture (the worker's frames) and None for a full frame (the
        command line's). The crop follows the model's own masks, before smoothing, and only of
        frames that show it exactly what a full frame would: so where it goes depends on the picture
        alone, not on which frames the filter captured with detail or sent after a model switch,
        and a still picture settles on the same crop in the filter as on the command line.
        """
        check_frame(frame)
        segmenter = self.segmenter
        height, width = frame.shape[:2]
        frame_width, frame_height = frame_size or (width, height)
        if frame_size is None:  # a full frame: everything the capture would hold can be warped from it
            view, detailed, exact = segmenter.model_view(frame).copy(), True, True
        else:
            detailed = (width, height) == segmenter.capture_size(frame_width, frame_height)
            exact = detailed or (width, height) == segmenter.mask_size(frame_width, frame_height)
            view = segmenter.whole_view(frame) if detailed else segmenter.model_view(frame).copy()
        crop = self.regions.crop if self.regions is not None else None
        if crop is None or not detailed:
            raw = segmenter.predict_view(view)
        else:
            if frame_size is None:
                window = capture_window(frame, crop, segmenter.capture_size(width, height))
            else:
                window = CaptureWindow.whole(frame)
            grid = (view.shape[1], view.shape[0])
            raw = place_back(segmenter.predict_view(crop_input(window, crop, grid)), crop, grid)
        self.last_mask = self.smoother(raw)
        if self.regions is not None and exact and (crop is None or detailed):
            frame_aspect = frame_width / max(frame_height, 1)
            self.regions.follow(raw, frame_aspect)
            self._whole_view = (view, frame_aspect)
        return view


def _model_aspect(segmenter: Segmenter) -> float:
    """Width / height of the model's input (the shape of its crops in frame pixels)."""
    width, height = segmenter.mask_size(16, 9)
    return width / height


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
        """The pipeline for one photo, settled on it as the filter settles on a still picture.

        Unrelated photos share nothing: each starts from a reset pipeline (``MaskPipeline.settle_on``).
        """
        if self.model != AUTO:
            pipeline = self.get(self.model)
            pipeline.settle_on(frame)
            return pipeline
        height, width = frame.shape[:2]
        if not is_wide(width, height):
            pipeline = self.get(choice_for_picture(width, height, None).model)
            pipeline.settle_on(frame)
            return pipeline
        first = self.get(choice_for_frame(width, height).model)
        first.settle_on(frame)
        share = person_share(first.last_mask) if first.last_mask is not None else None
        pipeline = self.get(choice_for_picture(width, height, share).model)
        if pipeline is not first:
            pipeline.settle_on(frame)
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
