"""The Background Blur filter: one ``BackgroundBlurFilter`` per filter instance in OBS.

The class holds the instance's lifetime, its callbacks, its settings and stats, and decides which
status applies; the dialog is built by ``dialog``, the status sentences by ``status``, the writes to
the stored settings by ``settings_writer``. The frame path (GPU passes and the mask worker process)
lives in ``frame_engine.FrameEngine``, created on the first frame. That module needs numpy and
OpenCV, so it is imported then, not at load: without the private dependencies the filter still
loads, passes the video through and says what is missing.

Threads: libobs calls ``create``/``get_properties``/button clicks on the UI thread, ``update``
(deferred by libobs for video sources), ``video_tick`` and ``video_render`` on the graphics thread,
``video_render`` also on the obs-websocket thread for screenshots (serialised with the graphics
thread by libobs's graphics lock), and ``destroy`` on the UI or libobs's destroy thread. obspython
never releases the GIL, so nothing here starts a busy Python thread or blocks while holding it.
The settings (``obs_data``, which has no lock) are written only on the UI thread, where OBS's own
dialogs write them (``settings_writer``): the status in ``get_properties``, repaired values in a UI task.

The optional libobs bindings are looked up with ``getattr``: they are None where libobs lacks them,
and absent from a libobs module that an older checkout loaded at OBS's start, which "Reload Scripts"
keeps while it re-imports this module.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from obs_blur.obs import dialog, frontend, libobs, lip_sync, settings_writer, status
from obs_blur.obs.data import ObsData
from obs_blur.obs.filter_settings import FilterSettings, defaults, sanitize
from obs_blur.obs.stats_file import RenderStats
from obs_blur.segmentation.manifest import ModelChoices, read_model_choices

KIND_ID = "obs_blur_filter"
DISPLAY_NAME = "Background Blur"
#: Capture a new frame at least this often even if no video_tick arrived (ticks drive frames normally).
RECAPTURE_AFTER_S = 0.25


class BackgroundBlurFilter:
    """One Background Blur filter on one source.

    The class-level ``create``, ``get_defaults`` and ``get_properties`` are what
    ``source_info.register_filter`` dispatches to; the rest are per-instance callbacks.
    """

    def __init__(self, source: int) -> None:
        self.source = source  # obs_source_t * of the filter itself
        self.models: ModelChoices = read_model_choices()
        self.settings: FilterSettings = defaults(self.models)
        self.frame_size: tuple[int, int] = (0, 0)
        self.engine: Any = None  # FrameEngine once the first frame arrived
        self.engine_problem: Optional[str] = None  # why there is no engine (permanent until reload)
        self.last_problem: Optional[str] = None  # why the last frame was drawn unchanged
        self.note = ""  # an answer to a button click, shown after the status
        self.render_stats = RenderStats()
        self.video_delay = lip_sync.VideoDelay()
        self._ticks = 0
        self._captured_tick = -1
        self._captured_at = 0.0
        self._suspended = False

    # --- type-level callbacks ---------------------------------------------------------------------
    @classmethod
    def create(cls, settings: int, source: int) -> BackgroundBlurFilter:
        """libobs does not call update after create: apply the stored settings here."""
        instance = cls(source)
        instance.update(settings)
        libobs.log(libobs.LOG_INFO, f"filter '{instance.name}' created ({instance.describe_settings()})")
        return instance

    @staticmethod
    def get_defaults(settings: int) -> None:
        settings_writer.write_defaults(settings, read_model_choices())

    @staticmethod
    def get_properties(instance: Optional[BackgroundBlurFilter]) -> int:
        """The settings dialog; ``instance`` is None when OBS asks for the type's properties only."""
        models = instance.models if instance is not None else read_model_choices()
        if instance is not None:
            instance.publish_readouts()
        return dialog.build_properties(KIND_ID, models)

    @staticmethod
    def property_modified(properties: int, property_name: str, settings: int) -> bool:
        """The mode list's and the alignment's modified callback: shows what applies (see ``dialog``)."""
        return dialog.show_applicable_settings(properties, property_name, settings)

    # --- instance callbacks -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return libobs.source_name(self.source)

    def update(self, settings: int) -> None:
        """Apply new settings, invalid stored values repaired; reads ``settings`` only.

        libobs runs this on the graphics thread (deferred for video filters), where a write to the
        settings would race obs-websocket reading them. The repaired values are applied at once and
        reach the stored settings on the UI thread, so the dialog and clients show what applies.
        """
        self.models = read_model_choices()
        data = ObsData(settings)
        self.settings, corrections = sanitize(settings_writer.stored_values(data), self.models)
        if corrections:
            settings_writer.repair_stored_settings_later(self.source, self.models)
        if lip_sync.needs_take_back(data, self.settings.align_video):
            settings_writer.write_on_ui_thread(self.source, self._take_back_lip_sync)

    def destroy(self) -> None:
        """Stop the worker (may wait a second: never under the graphics lock), then free the GPU objects."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.masks.stop()
            libobs.obs_enter_graphics()
            try:
                engine.destroy_gpu()
            finally:
                libobs.obs_leave_graphics()
        libobs.log(libobs.LOG_INFO, f"filter '{self.name}' destroyed")

    def video_tick(self, seconds: float) -> None:
        """Once per frame on the graphics thread, before any draw: poll the worker (started after the
        first frame) and hand it the previous frame's capture, so its mask can be ready for this frame."""
        self._ticks += 1
        self.frame_size = self._target_size()
        engine = self.engine
        if engine is not None and not self._suspended:
            engine.masks.tick(engine.applied(self.settings, self.frame_size))
            engine.tick(seconds)

    def video_render(self, effect: Optional[int]) -> None:
        """Draw the filtered frame; times the whole callback for the stats file."""
        del effect  # the effect meant for sync sources; the filter brings its own
        started = time.perf_counter()
        passed_through, waited_s = True, 0.0
        try:
            passed_through, waited_s = self._render()
        finally:
            self.render_stats.add((time.perf_counter() - started) * 1000.0, passed_through, waited_s * 1000.0)

    def button_clicked(self, property_name: str) -> bool:
        """A button in the dialog (UI thread); True makes OBS rebuild the dialog, which shows the new status."""
        if property_name == dialog.VIRTUALCAM_BUTTON:
            self.note = frontend.toggle_virtual_camera()
        elif property_name == lip_sync.APPLY_BUTTON:
            self.note = lip_sync.apply_delay(self.source, self.video_delay.milliseconds())
        else:
            return False
        libobs.log(libobs.LOG_INFO, f"filter '{self.name}': {self.note}")
        return True  # the rebuilt dialog (get_properties) shows the note in the status

    def _take_back_lip_sync(self, source: int) -> None:
        """UI task queued by ``update`` when the alignment went off: the audio gets its own offset back."""
        done = lip_sync.take_back_if_alignment_off(source)
        if done:
            self.note = done
            libobs.log(libobs.LOG_INFO, f"filter '{libobs.source_name(source)}': {done}")

    # --- script lifetime (called for every live instance by the script) ---------------------------
    def request_worker_stop(self) -> None:
        """Script unloading: ask the worker to quit now; ``suspend_worker`` then waits for it."""
        self._suspended = True
        engine = self.engine
        if engine is not None:
            engine.masks.request_stop()

    def suspend_worker(self) -> None:
        """Script unloaded (OBS exits or "Reload Scripts"): stop the worker and start no new one."""
        self._suspended = True
        engine = self.engine
        if engine is not None:
            engine.masks.suspend()

    def resume_worker(self) -> None:
        """Script loaded again: the worker may start again."""
        self._suspended = False
        engine = self.engine
        if engine is not None:
            engine.masks.resume()

    # --- status and stats -------------------------------------------------------------------------
    def describe_settings(self) -> str:
        model = self.settings.model or "none"
        return f"mode {self.settings.mode}, model {model}, blur strength {self.settings.blur_strength}"

    def status_text(self) -> str:
        """One line for the dialog: what the filter does right now and why."""
        return status.with_problem_and_note(self._state_text(), self.models.problem, self.note)

    def stats_entry(self) -> tuple[str, dict[str, Any]]:
        """(filter name, this filter's entry in the stats file); drains the render times."""
        engine = self.engine
        report = engine.masks.report() if engine is not None else None
        info = engine.info() if engine is not None else None
        in_use = info is not None and self.last_problem is None and not self._hidden()
        render_ms, wait_ms = self.render_stats.take()
        return self.name, {
            "render_ms": [round(ms, 3) for ms in render_ms],
            "mask_wait_ms": [round(ms, 3) for ms in wait_ms],
            "still_picture": bool(engine is not None and engine.masks.still_picture),
            "mask_age_frames": info.mask_age_frames if in_use else None,
            "masks_per_s": round(report.masks_per_s, 2) if report else 0.0,
            "mask_ms": report.ms_per_mask if report else None,
            "provider": report.provider if report else "",
            "model": (report.model if report else "") or self.settings.model,
            "model_choice": engine.model_reason if engine is not None else None,
            "mask_crop_share": engine.crop_share if engine is not None else None,
            "status": self.status_text(),
            "frames": self.render_stats.frames,
            "passthrough_frames": self.render_stats.passthrough_frames,
            "source": libobs.source_name(libobs.obs_filter_get_parent(self.source)),
            "mask_latency_frames": info.mask_latency_frames if info is not None else None,
            "video_delay_ms": self.video_delay.milliseconds() if self.settings.align_video else None,
        }

    # --- helpers ----------------------------------------------------------------------------------
    def _render(self) -> tuple[bool, float]:
        """Draw this frame; returns (drawn unchanged, seconds waited for the mask)."""
        size = self._target_size()
        if not size[0] or not size[1]:
            self.last_problem = status.NO_VIDEO  # a media source before its first frame or after its end
            return True, 0.0
        engine = self._engine()
        if engine is None:
            libobs.obs_source_skip_video_filter(self.source)
            return True, 0.0
        waited_s = 0.0
        try:
            settings = engine.applied(self.settings, size)
            new_frame = self._needs_new_frame(engine)
            if new_frame:
                self._captured_tick, self._captured_at = self._ticks, time.monotonic()
                engine.new_frame(size, settings)
                waited_s = engine.waited_s
            self.last_problem = engine.draw(size, settings)
            if new_frame:
                engine.frame_done()
            self._measure_video_delay(engine)
        except Exception as error:
            self.last_problem = status.internal_error(error)
            raise  # the callback guard logs it once and passes the video through
        return self.last_problem is not None, waited_s

    def _needs_new_frame(self, engine: Any) -> bool:
        """Once per video tick: a second draw in the same tick (a screenshot, a projector) reuses the frame."""
        stale = time.monotonic() - self._captured_at > RECAPTURE_AFTER_S
        return self._captured_tick != self._ticks or stale or not engine.has_frame

    def _engine(self) -> Any:
        """The frame engine, created on the first frame; None (and a status) when it cannot exist."""
        if self.engine is not None or self.engine_problem is not None:
            return self.engine
        try:
            from obs_blur.obs.frame_engine import FrameEngine
            from obs_blur.worker.interpreter import missing_worker_module
        except ImportError as error:
            self._give_up(status.missing_dependency(error))
            return None
        missing = missing_worker_module()
        if missing is not None:
            self._give_up(status.missing_dependency(missing))
            return None
        try:
            self.engine = FrameEngine(self.source, lambda: self.name)
        except RuntimeError as error:  # GpuError: an effect OBS could not compile, no render target
            self._give_up(str(error))
            return None
        if self._suspended:
            self.engine.masks.suspend()
        return self.engine

    def _give_up(self, problem: str) -> None:
        self.engine_problem = problem
        libobs.log(libobs.LOG_WARNING, status.passes_through_log(self.name, problem))

    def _state_text(self) -> str:
        """Which status applies: the first of these that holds, in this order."""
        if self.engine_problem is not None:
            return status.passes_through(self.engine_problem)
        if self._hidden():
            return status.HIDDEN  # video_render is not called: the last frame's state would be stale
        if not all(self.frame_size):
            return status.NO_VIDEO  # also once the engine runs: a mask from before the video stopped is not in use
        engine = self.engine
        if engine is None:
            return status.starting(self.frame_size)
        if self.last_problem is not None:
            return status.passes_through(self.last_problem)
        mode = status.mode_text(self.settings.mode, self.settings.blur_strength, self.settings.lens_depth)
        report, age = engine.masks.report(), engine.info().mask_age_frames
        still = engine.masks.still_picture
        return status.mask_in_use(self._paused(), still, report, age, mode, engine.model_reason, engine.crop_share)

    def _hidden(self) -> bool:
        """Whether no scene or view shows the filtered source (libobs then renders none of its filters)."""
        showing = getattr(libobs, "obs_source_showing", None)
        parent = libobs.obs_filter_get_parent(self.source)
        return bool(showing is not None and parent) and not showing(parent)

    def _paused(self) -> bool:
        """Whether the filtered source is a paused media source (its last frame stays shown)."""
        media_state = getattr(libobs, "obs_source_media_get_state", None)
        parent = libobs.obs_filter_get_parent(self.source)
        return bool(media_state is not None and parent) and media_state(parent) == libobs.OBS_MEDIA_STATE_PAUSED

    def publish_readouts(self) -> None:
        """Copy the status and the video delay into the settings for the dialog's read-only rows (UI thread only)."""
        delay = lip_sync.describe(self.settings.align_video, self.video_delay.milliseconds())
        settings_writer.publish_readouts(self.source, {dialog.STATUS: self.status_text(), lip_sync.VIDEO_DELAY: delay})

    def _measure_video_delay(self, engine: Any) -> None:
        """One render's video delay for the lip-sync figure, while the video is aligned and composited."""
        if self.settings.align_video and self.last_problem is None:
            self.video_delay.add(engine.info().video_delay_frames)
        elif not self.settings.align_video:
            self.video_delay.clear()

    def _target_size(self) -> tuple[int, int]:
        """Size of what the filter draws: the source, or the output of the filter before us."""
        target = libobs.obs_filter_get_target(self.source)
        if not target:
            return (0, 0)
        return (libobs.obs_source_get_base_width(target), libobs.obs_source_get_base_height(target))
