"""The Background Blur filter: one ``BackgroundBlurFilter`` per filter instance in OBS.

The class holds settings, the properties dialog, the status line and the stats; the frame path
(GPU passes and the mask worker process) lives in ``frame_engine.FrameEngine``, created on the first
frame. That module needs numpy and OpenCV, so it is imported then, not at load: without the private
dependencies the filter still loads, passes the video through and says what is missing.

Threads: libobs calls ``create``/``get_properties``/button clicks on the UI thread, ``update``
(deferred by libobs for video sources), ``video_tick`` and ``video_render`` on the graphics thread,
``video_render`` also on the obs-websocket thread for screenshots (serialised with the graphics
thread by libobs's graphics lock), and ``destroy`` on the UI or libobs's destroy thread. obspython
never releases the GIL, so nothing here starts a busy Python thread or blocks while holding it.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from obs_blur.obs import frontend, libobs, source_info
from obs_blur.obs.data import ObsData, Properties
from obs_blur.obs.filter_settings import (
    ALIGN_VIDEO,
    BG_COLOR,
    BG_IMAGE,
    BLUR_STRENGTH,
    BLUR_STRENGTH_MAX,
    BLUR_STRENGTH_MIN,
    DEVICE,
    DEVICES,
    EDGE_SOFTNESS,
    MODE,
    MODEL,
    MODES,
    PERCENT_MAX,
    PERCENT_MIN,
    SETTING_KEYS,
    SMOOTHING,
    FilterSettings,
    ModelChoices,
    defaults,
    read_model_choices,
    sanitize,
)
from obs_blur.obs.stats_file import RenderStats

KIND_ID = "obs_blur_filter"
DISPLAY_NAME = "Background Blur"
STATUS = "status"
VIRTUALCAM_BUTTON = "virtualcam"
#: Capture a new frame at least this often even if no video_tick arrived (ticks drive frames normally).
RECAPTURE_AFTER_S = 0.25
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tga);;All files (*.*)"
#: The status while the source has no frame (size 0x0): nothing to draw, nothing sent to the worker.
NO_VIDEO = "Waiting for video: the source shows no frame (not started yet, ended or stopped)"


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
        start = defaults(read_model_choices())
        data = ObsData(settings)
        for key in SETTING_KEYS:
            data.set_default_value(key, getattr(start, key))
        data.set_default_value(STATUS, "starting: the video passes through until the first mask")

    @staticmethod
    def get_properties(instance: Optional[BackgroundBlurFilter]) -> int:
        """The settings dialog; ``instance`` is None when OBS asks for the type's properties only."""
        models = instance.models if instance is not None else read_model_choices()
        if instance is not None:
            instance.publish_status()
        properties = Properties()
        properties.add_string_list(MODE, "Background", MODES.items())
        model_list = properties.add_string_list(MODEL, "Segmentation model", ((n, n) for n in models.names))
        Properties.set_long_description(model_list, "Models listed in models/manifest.json")
        properties.add_int_slider(BLUR_STRENGTH, "Blur strength", BLUR_STRENGTH_MIN, BLUR_STRENGTH_MAX)
        properties.add_color(BG_COLOR, "Background colour")
        properties.add_file_path(BG_IMAGE, "Background image", IMAGE_FILES)
        softness = properties.add_int_slider(EDGE_SOFTNESS, "Edge softness", PERCENT_MIN, PERCENT_MAX)
        Properties.set_long_description(softness, "Width of the soft band around the person's outline")
        smoothing = properties.add_int_slider(SMOOTHING, "Temporal smoothing", PERCENT_MIN, PERCENT_MAX)
        Properties.set_long_description(smoothing, "Less flicker at the outline; real motion passes at once")
        align = properties.add_bool(ALIGN_VIDEO, "Delay the video to match the mask")
        Properties.set_long_description(align, "Shows the frame each mask was computed from (a few frames late)")
        properties.add_string_list(DEVICE, "Run the model on", DEVICES.items())
        callback = source_info.button_callback(KIND_ID)
        if callback:
            properties.add_button(VIRTUALCAM_BUTTON, "Start/Stop Virtual Camera", callback)
        properties.add_info_text(STATUS, "Status")
        return properties.pointer

    # --- instance callbacks -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return libobs.source_name(self.source)

    def update(self, settings: int) -> None:
        """Apply new settings; invalid stored values are repaired and written back so the dialog shows them."""
        self.models = read_model_choices()
        data = ObsData(settings)
        stored = {key: data.get_stored(key) for key in SETTING_KEYS}
        self.settings, corrections = sanitize(stored, self.models)
        if corrections:
            self._write_back(data, corrections)

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
        """Once per frame on the graphics thread: poll the worker (started after the first frame)."""
        del seconds
        self._ticks += 1
        self.frame_size = self._target_size()
        engine = self.engine
        if engine is not None and not self._suspended:
            engine.masks.tick(self.settings)

    def video_render(self, effect: Optional[int]) -> None:
        """Draw the filtered frame; times the whole callback for the stats file."""
        del effect  # the effect meant for sync sources; the filter brings its own
        started = time.perf_counter()
        passed_through = True
        try:
            passed_through = self._render()
        finally:
            self.render_stats.add((time.perf_counter() - started) * 1000.0, passed_through)

    def button_clicked(self, property_name: str) -> bool:
        """A button in the dialog; True makes OBS rebuild the dialog, which shows the new status."""
        if property_name != VIRTUALCAM_BUTTON:
            return False
        self.note = frontend.toggle_virtual_camera()
        libobs.log(libobs.LOG_INFO, f"filter '{self.name}': {self.note}")
        return True  # the rebuilt dialog (get_properties) shows the note in the status

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
        text = self._state_text()
        problem = f"; {self.models.problem}" if self.models.problem else ""
        note = f". {self.note}" if self.note else ""
        return f"{text}{problem}{note}"

    def stats_entry(self) -> tuple[str, dict[str, Any]]:
        """(filter name, this filter's entry in the stats file); drains the render times."""
        engine = self.engine
        report = engine.masks.report() if engine is not None else None
        info = engine.info() if engine is not None else None
        in_use = info is not None and self.last_problem is None
        return self.name, {
            "render_ms": [round(ms, 3) for ms in self.render_stats.take_render_ms()],
            "mask_age_frames": info.mask_age_frames if in_use else None,
            "masks_per_s": round(report.masks_per_s, 2) if report else 0.0,
            "mask_ms": report.ms_per_mask if report else None,
            "provider": report.provider if report else "",
            "model": (report.model if report else "") or self.settings.model,
            "status": self.status_text(),
            "frames": self.render_stats.frames,
            "passthrough_frames": self.render_stats.passthrough_frames,
            "source": libobs.source_name(libobs.obs_filter_get_parent(self.source)),
            "mask_latency_frames": info.mask_latency_frames if info is not None else None,
        }

    # --- helpers ----------------------------------------------------------------------------------
    def _render(self) -> bool:
        """Draw this frame; returns True when the target was drawn unchanged."""
        size = self._target_size()
        if not size[0] or not size[1]:
            self.last_problem = NO_VIDEO  # a media source before its first frame or after its end
            return True
        engine = self._engine()
        if engine is None:
            libobs.obs_source_skip_video_filter(self.source)
            return True
        try:
            if self._needs_new_frame(engine):
                self._captured_tick, self._captured_at = self._ticks, time.monotonic()
                engine.new_frame(size, self.settings)
            self.last_problem = engine.draw(size, self.settings)
        except Exception as error:
            self.last_problem = f"internal error: {type(error).__name__}: {error}"
            raise  # the callback guard logs it once and passes the video through
        return self.last_problem is not None

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
        except ImportError as error:
            self._give_up(_missing_dependency_text(error))
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
        libobs.log(libobs.LOG_WARNING, f"filter '{self.name}': video passes through unchanged: {problem}")

    def _state_text(self) -> str:
        if self.engine_problem is not None:
            return f"Video passes through unchanged: {self.engine_problem}"
        width, height = self.frame_size
        if not (width and height):
            return NO_VIDEO  # also once the engine runs: a mask from before the video stopped is not in use
        engine = self.engine
        if engine is None:
            return f"Starting ({width}x{height})"
        if self.last_problem is not None:
            return f"Video passes through unchanged: {self.last_problem}"
        report, info = engine.masks.report(), engine.info()
        speed = (
            f"{report.ms_per_mask:.1f} ms per mask, {report.masks_per_s:.0f} masks/s"
            if report.ms_per_mask is not None
            else "measuring speed"
        )
        return (
            f"Mask in use: {report.model} on {report.provider}; {speed}; "
            f"mask age {info.mask_age_frames} frames ({self._mode_text()})"
        )

    def _mode_text(self) -> str:
        """What is drawn, e.g. "blur mode, strength 50": the status shows the settings really applied."""
        mode = self.settings.mode
        return f"{mode} mode, strength {self.settings.blur_strength}" if mode == "blur" else f"{mode} mode"

    def publish_status(self) -> None:
        """Copy the status into the settings, where the dialog's Status row reads it.

        Only ever on the UI thread, as the dialog opens or rebuilds (``get_properties``): obs_data has
        no lock, and writing a setting can move its memory while obs-websocket's thread walks the same
        settings (a GetSourceFilter). Done once a second from the graphics thread, that race is the
        likely cause of a segfault seen once in the soak test. Tools read the stats file instead.
        """
        settings = libobs.obs_source_get_settings(self.source)
        if settings:
            try:
                ObsData(settings).set_string(STATUS, self.status_text())
            finally:
                libobs.obs_data_release(settings)

    def _write_back(self, data: ObsData, corrections: dict[str, str]) -> None:
        for key in corrections:
            data.set_value(key, getattr(self.settings, key))
        changes = ", ".join(f"{key} {change}" for key, change in corrections.items())
        libobs.log(libobs.LOG_WARNING, f"filter '{self.name}': repaired invalid settings: {changes}")

    def _target_size(self) -> tuple[int, int]:
        """Size of what the filter draws: the source, or the output of the filter before us."""
        target = libobs.obs_filter_get_target(self.source)
        if not target:
            return (0, 0)
        return (libobs.obs_source_get_base_width(target), libobs.obs_source_get_base_height(target))


def _missing_dependency_text(error: ImportError) -> str:
    """Why numpy/OpenCV/onnxruntime did not import: a folder the script refused, or not installed."""
    from obs_blur import paths

    folder = paths.private_dependency_folder()
    unsafe = paths.unsafe_code_folder(folder) if folder.is_dir() else None
    if unsafe is not None:
        return f"the dependency folder {folder} is not used because {unsafe}"
    package = _PACKAGE_OF_MODULE.get((error.name or "").split(".")[0], "a dependency")
    return f"{package} is missing ({error}): run install.py"


#: Import names → the names people know the packages by (OpenCV is imported as cv2).
_PACKAGE_OF_MODULE = {"cv2": "OpenCV", "numpy": "numpy", "onnxruntime": "onnxruntime"}
