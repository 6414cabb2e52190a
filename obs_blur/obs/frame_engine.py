"""The real frame path of one Background Blur filter: GPU passes around an out-of-process mask worker.

Per video frame, on the graphics thread:

- ``tick`` (video_tick, at the start of the frame): if the worker is free, read back the capture
  staged by the previous frame (its copy finished long ago) and submit it, unless the picture has
  not changed since its mask settled (``StillPictureGate``: then the mask in use is stamped with
  that frame and the worker idles);
- ``new_frame`` (the first draw of the frame):

  1. render the filter's target once, full size, into a frame render target (a ring of them when
     ``align_video`` is on, so older frames stay available);
  2. if the worker has a model: downsample to capture size the way the model's family resizes, and
     stage it for read-back;
  3. take the newest result, waiting a few milliseconds for the one in flight when the worker's
     usual latency says it is that close (``mask_timing``): the frame is then drawn with the mask
     of the frame before it (mask age 1) instead of two frames before;
  4. upload the result's coefficients (RGBA32F).

Per draw (``draw``): the composite technique of the mode (``obs_blur.modes``), one full-size pass
straight into the caller's target, plus the background blur at 1/4 size in blur mode. Until the
first mask, and on any fault, the frame is drawn unchanged instead, never half composited; ``draw``
says why.

Importing this module needs numpy and OpenCV (through the core's ``segmentation``/``compositor``), so
the filter imports it lazily and explains a missing dependency instead of failing to load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

from obs_blur.blur_plan import blur_work_plan
from obs_blur.edge_band import COEFFICIENT_CHANNELS, WEIGHT_BAND, band_transform
from obs_blur.errors import ObsBlurError
from obs_blur.mask_timing import mask_wait_budget_s
from obs_blur.model_choice import AUTO, ModelChooser
from obs_blur.modes import Composite, mode_named
from obs_blur.obs import libobs, status
from obs_blur.obs.filter_settings import FilterSettings
from obs_blur.obs.frame_readback import StagedCapture, StagingRing
from obs_blur.obs.gpu_passes import (
    BackgroundPicture,
    BlurEffect,
    GridTexture,
    RenderTarget,
    blurred_background,
    composite,
    downsample,
    draw_unchanged,
    render_filter_target,
)
from obs_blur.obs.mask_link import Mask, MaskLink
from obs_blur.segmentation.capture import capture_geometry, capture_size_for
from obs_blur.segmentation.manifest import load_manifest

#: Frames kept on the GPU for ``align_video``: covers a mask latency of 3 frames (each is a full-size texture).
ALIGN_RING = 4
#: Largest blur sigma in work pixels: a stronger blur works at a smaller size instead of with more taps.
#: A mask older than this is not drawn any more (a worker that stopped answering, a model that reloads slowly).
STALE_MASK_S = 2.0
#: Weight of the newest frame in the running mean of the filter's own rendering time.
RENDER_TIME_WEIGHT = 0.1
Size = tuple[int, int]


@dataclass(frozen=True)
class FrameInfo:
    """Where the shown frame and the mask stand, for the status line and the stats file."""

    frame_number: int
    mask_frame: Optional[int]  # the video frame the newest mask was computed from
    shown_frame: Optional[int]  # the video frame drawn last (older than frame_number with align_video)

    @property
    def mask_age_frames(self) -> Optional[int]:
        """Frames between the picture drawn and the picture the mask belongs to (0: aligned)."""
        if self.mask_frame is None or self.shown_frame is None:
            return None
        return max(0, self.shown_frame - self.mask_frame)

    @property
    def video_delay_frames(self) -> Optional[int]:
        """Frames between the newest video frame and the one drawn (0 unless ``align_video`` holds frames back)."""
        return None if self.shown_frame is None else self.frame_number - self.shown_frame

    @property
    def mask_latency_frames(self) -> Optional[int]:
        """Frames between the newest video frame and the newest mask's frame (the worker's delay)."""
        return None if self.mask_frame is None else self.frame_number - self.mask_frame


#: (scale, offset) taking the person probability to its place in the blur weights' band
#: (``edge_band.WEIGHT_BAND``): the shader's ``weight_band`` uniform.
WEIGHT_BAND_UNIFORM = band_transform((0.0, 1.0), WEIGHT_BAND)


class FrameEngine:
    """GPU objects, the staging ring and the mask worker link of one filter instance."""

    def __init__(self, filter_source: int, filter_name: Callable[[], str]) -> None:
        self.filter_source = filter_source
        self.filter_name = filter_name
        self.masks = MaskLink(filter_name)
        self._logged_mode_problem: Optional[str] = None
        self.transparent = False  # the last frame read back had alpha below 1 (see gpu_passes.composite)
        self.frame_number = 0
        self.mask: Optional[Mask] = None
        self._mask_received = 0.0
        self._shown: Optional[int] = None
        self._capture_plans: dict[tuple[str, Size, bool], tuple[Size, bytes]] = {}
        self.effect = BlurEffect()
        self.frames: list[RenderTarget] = []
        self.capture = RenderTarget(libobs.GS_BGRA)
        self.work = (RenderTarget(libobs.GS_RGBA16F), RenderTarget(libobs.GS_RGBA16F), RenderTarget(libobs.GS_RGBA))
        self.readback = StagingRing()
        self.coefficients = GridTexture(COEFFICIENT_CHANNELS)
        self.probability = GridTexture(1)
        self.picture = BackgroundPicture()
        self.frame_interval_s = 1.0 / 30.0
        self.render_s = 0.0  # running mean of new_frame + draw, without the wait for a mask
        self._offered = False  # a capture was offered to the worker since the last new_frame
        self._frame_started = 0.0
        self.model_chooser = ModelChooser()
        self._auto_model = False  # the settings ask for ``auto``: the chooser picks the model

    # -- settings ------------------------------------------------------------------------------

    def applied(self, settings: FilterSettings, size: Size) -> FilterSettings:
        """The settings as this video gets them: ``auto`` becomes the model chosen for it."""
        self._auto_model = settings.model == AUTO
        if not self._auto_model:
            return settings
        return replace(settings, model=self.model_chooser.for_frame(*size).model)

    @property
    def model_reason(self) -> Optional[str]:
        """Why ``auto`` runs the model it runs, for the status line; None for a model the user chose."""
        choice = self.model_chooser.choice
        return choice.reason if self._auto_model and choice is not None else None

    # -- once per video frame ------------------------------------------------------------------

    def tick(self, frame_interval_s: float) -> None:
        """Start of a frame (video_tick): offer the worker the capture the previous frame staged."""
        if frame_interval_s > 0:
            self.frame_interval_s = frame_interval_s
        if not self.masks.ready:
            return
        libobs.obs_enter_graphics()  # video_tick runs outside the graphics context
        try:
            self._offer(self.frame_number + 1)
        finally:
            libobs.obs_leave_graphics()

    def new_frame(self, size: Size, settings: FilterSettings) -> None:
        """Render the target, stage its capture, take the newest mask (see the module docstring)."""
        self._frame_started = time.perf_counter()
        self.frame_number += 1
        self._size_ring(ALIGN_RING if settings.align_video else 1)
        frame = self.frames[self.frame_number % len(self.frames)]
        frame.frame_number = -1  # invalid until drawn: a failure below must not leave a stale number
        render_filter_target(self.filter_source, frame, size, self.transparent)
        frame.frame_number = self.frame_number
        if self.masks.ready and frame.texture is not None:
            capture_size, technique = self._capture_plan(settings.model, size, self.wants_detail)
            captured = downsample(self.effect, technique, frame.texture, size, self.capture, capture_size)
            self.readback.stage(captured, capture_size, self.frame_number, size)
        if not self._offered:  # no video_tick since the last frame: offer from here
            self._offer(self.frame_number)
        self._offered = False
        mask = self.masks.take(self._wait_budget)
        if mask is not None:
            self.coefficients.upload(mask.coefficients)
            self.probability.upload(mask.probability)
            self.mask, self._mask_received = mask, time.monotonic()
        if self._auto_model and self.mask is not None:  # every frame: a still picture's mask is not sent again
            self.model_chooser.observe(self.mask.person_share, self.mask.model, time.monotonic())

    @property
    def waited_s(self) -> float:
        """How long the last new_frame waited for a mask (its ``MaskLink.take``)."""
        return self.masks.waited_s

    @property
    def has_frame(self) -> bool:
        return any(frame.frame_number == self.frame_number for frame in self.frames)

    # -- every draw ----------------------------------------------------------------------------

    def draw(self, size: Size, settings: FilterSettings) -> Optional[str]:
        """Draw the filtered frame; returns None, or why the frame was drawn unchanged instead."""
        current = self._frame(self.frame_number)
        if current is None or current.texture is None:
            raise RuntimeError("draw() before a frame was rendered")
        problem = self._why_unchanged()
        if problem is None:
            shown = self._frame_for_mask(settings.align_video) or current
            problem = self._prepare_mode(settings, size, shown)
            if problem is None:
                technique = mode_named(settings.mode).technique.encode()
                composite(self.effect, technique, shown.texture, self.coefficients.pointer, size, self.transparent)  # type: ignore[arg-type]
                self._shown = shown.frame_number
                return None
        draw_unchanged(current.texture, size)
        self._shown = current.frame_number
        return problem

    def frame_done(self) -> None:
        """After the frame's draw: fold its rendering time (without the wait) into ``render_s``."""
        if self._frame_started:
            spent = time.perf_counter() - self._frame_started - self.waited_s
            self.render_s += RENDER_TIME_WEIGHT * (spent - self.render_s)
            self._frame_started = 0.0

    def info(self) -> FrameInfo:
        return FrameInfo(self.frame_number, self.mask.frame_number if self.mask else None, self._shown)

    # -- lifetime ------------------------------------------------------------------------------

    def destroy_gpu(self) -> None:
        """Free every GPU object; call inside obs_enter_graphics/obs_leave_graphics."""
        for frame in self.frames:
            frame.destroy()
        self.frames = []
        for target in (self.capture, *self.work):
            target.destroy()
        self.readback.destroy()
        self.coefficients.destroy()
        self.probability.destroy()
        self.picture.destroy()
        self.effect.destroy()

    # -- internals -----------------------------------------------------------------------------

    def _offer(self, before_frame: int) -> None:
        """Offer the newest capture staged before ``before_frame``; an unchanged picture keeps its mask."""
        self._offered = True
        held = self.masks.offer(lambda: self._read_capture(before_frame))
        if held is not None and self.mask is not None:
            self.mask, self._mask_received = replace(self.mask, frame_number=held), time.monotonic()

    def _wait_budget(self, in_flight_s: float, typical_latency_s: float) -> float:
        return mask_wait_budget_s(self.frame_interval_s, self.render_s, in_flight_s, typical_latency_s)

    def _why_unchanged(self) -> Optional[str]:
        report = self.masks.report()
        if not report.healthy:
            return report.status
        if self.mask is None or not self.coefficients.pointer:
            return status.waiting_for_first_mask(report.status)
        age_s = time.monotonic() - self._mask_received
        if age_s > STALE_MASK_S:
            return status.no_new_mask(age_s, report.status)
        return None

    def _prepare_mode(self, settings: FilterSettings, size: Size, shown: RenderTarget) -> Optional[str]:
        """Set the inputs the mode's composite needs; returns why it cannot be drawn, or None."""
        kind = mode_named(settings.mode).composite
        if kind in (Composite.OVER_BLURRED_BACKGROUND, Composite.OVER_LENS_BLURRED_BACKGROUND):
            work_size, sigma = blur_work_plan(size, settings.blur_strength)
            texture = shown.texture
            assert texture is not None
            lens = kind is Composite.OVER_LENS_BLURRED_BACKGROUND
            mask = (self.coefficients.pointer, self.probability.pointer)
            blurred = blurred_background(
                self.effect, texture, mask, self.work, work_size, sigma, WEIGHT_BAND_UNIFORM, lens,
                lens and settings.lens_depth,
            )
            self.effect.set_texture("blurred", blurred)
        elif kind is Composite.OVER_COLOUR:
            red, green, blue = settings.color_rgb
            self.effect.set_vec4("bg_color", red, green, blue, 1.0)
        elif kind is Composite.OVER_PICTURE:
            problem = self.picture.load(settings.bg_image)
            self._log_mode_problem(problem)
            if problem is not None:
                return problem
            scale, offset = self.picture.cover(*size)
            self.effect.set_texture("bg_image", self.picture.pointer)
            self.effect.set_vec2("bg_uv_scale", *scale)
            self.effect.set_vec2("bg_uv_offset", *offset)
        return None

    def _read_capture(self, before_frame: int) -> Optional[StagedCapture]:
        """The newest capture staged before ``before_frame``; notes whether the video has transparency.

        The capture is small (256x144, 512x288 at most), so the check costs microseconds, and it spares an opaque
        video (a camera) the alpha handling that only transparent ones need (``render_filter_target``).
        """
        frame = self.readback.read_newest_before(before_frame)
        if frame is not None:
            self.transparent = bool((frame.pixels[..., 3] < 255).any())
        return frame

    def _log_mode_problem(self, problem: Optional[str]) -> None:
        """One warning line when the mode cannot be drawn (a missing picture), not one per frame."""
        if problem is not None and problem != self._logged_mode_problem:
            libobs.log(libobs.LOG_WARNING, status.passes_through_log(self.filter_name(), problem))
        self._logged_mode_problem = problem

    def _frame(self, frame_number: int) -> Optional[RenderTarget]:
        for frame in self.frames:
            if frame.frame_number == frame_number:
                return frame
        return None

    def _frame_for_mask(self, align_video: bool) -> Optional[RenderTarget]:
        """With ``align_video``: the kept frame the newest mask belongs to, else the oldest one after it."""
        if not align_video or self.mask is None:
            return None
        kept = [frame for frame in self.frames if frame.frame_number >= self.mask.frame_number]
        return min(kept, key=lambda frame: frame.frame_number) if kept else None

    def _size_ring(self, count: int) -> None:
        while len(self.frames) > count:
            self.frames.pop().destroy()
        while len(self.frames) < count:
            self.frames.append(RenderTarget(libobs.GS_RGBA))

    @property
    def crop_share(self) -> float:
        """The share of the frame the worker's model looks at (1: the whole frame; less: a crop around the person)."""
        return self.mask.crop_share if self.mask is not None else 1.0

    @property
    def wants_detail(self) -> bool:
        """The worker looks at a crop around the person next: capture with the family's extra detail.

        Until it says so (and whenever the person fills most of the frame) the capture is the model's
        input for the whole frame, which costs a quarter of the detailed capture on a software renderer.
        """
        return self.crop_share < 1.0

    def _capture_plan(self, model: str, size: Size, detailed: bool) -> tuple[Size, bytes]:
        """The model's capture size for this frame size and the GPU resize its family names (cached).

        From the manifest alone, without loading the model. Feeding the model what the command line
        feeds it keeps the filter's mask equal to ``obs_blur mask``'s.
        """
        key = (model, size, detailed)
        plan = self._capture_plans.get(key)
        if plan is None:
            try:
                spec = load_manifest().get(model or None)
            except ObsBlurError:
                spec = load_manifest().get(None)  # the worker reports the bad name; capture for the default
            technique = capture_geometry(spec).downsample.value.encode()
            plan = self._capture_plans[key] = (capture_size_for(spec, *size, detailed), technique)
        return plan
