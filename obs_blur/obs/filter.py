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
The settings (``obs_data``, which has no lock) are written only on the UI thread, where OBS's own
dialogs write them: the status in ``get_properties``, repaired values in a UI task.

The optional libobs bindings are looked up with ``getattr``: they are None where libobs lacks them,
and absent from a libobs module that an older checkout loaded at OBS's start, which "Reload Scripts"
keeps while it re-imports this module.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from obs_blur.modes import Setting, mode_named
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
    PERCENT_MAX,
    PERCENT_MIN,
    SETTING_KEYS,
    SMOOTHING,
    FilterSettings,
    StoredValue,
    defaults,
    mode_choices,
    mode_settings_shown,
    sanitize,
)
from obs_blur.obs.stats_file import RenderStats
from obs_blur.segmentation.manifest import ModelChoices, read_model_choices

KIND_ID = "obs_blur_filter"
DISPLAY_NAME = "Background Blur"
STATUS = "status"
VIRTUALCAM_BUTTON = "virtualcam"
#: Capture a new frame at least this often even if no video_tick arrived (ticks drive frames normally).
RECAPTURE_AFTER_S = 0.25
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tga);;All files (*.*)"
#: The status while the source has no frame (size 0x0): nothing to draw, nothing sent to the worker.
NO_VIDEO = "Waiting for video: the source shows no frame (not started yet, ended or stopped)"
#: The status while no scene or view shows the source: libobs draws neither it nor its filters.
HIDDEN = "Hidden: the source is not shown in any scene or view, so nothing is drawn and no mask is made"
#: The status's start while a media source is paused: its last frame stays on screen, filtered.
PAUSED = "Paused: the mask of the paused frame stays in use"
#: The dialog's group for the settings most people never change.
ADVANCED_GROUP = "advanced"


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
        _add_main_settings(properties, models)
        _add_advanced_settings(properties.add_group(ADVANCED_GROUP, "Advanced"))
        callback = source_info.button_callback(KIND_ID)
        if callback:
            properties.add_button(VIRTUALCAM_BUTTON, "Start/Stop Virtual Camera", callback)
        properties.add_info_text(STATUS, "Status")
        return properties.pointer

    @staticmethod
    def property_modified(properties: int, property_name: str, settings: int) -> bool:
        """The mode changed in the dialog (or libobs fills new properties): show that mode's settings only.

        libobs calls this on the UI thread with the dialog's settings, which it only reads; True makes
        the dialog redraw with the new set.
        """
        if property_name != MODE:
            return False
        for key, shown in mode_settings_shown(ObsData(settings).get_string(MODE)).items():
            Properties.set_visible(properties, key, shown)
        return True

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
        self.settings, corrections = sanitize(_stored_values(ObsData(settings)), self.models)
        if corrections:
            self._repair_stored_settings_later()

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
        in_use = info is not None and self.last_problem is None and not self._hidden()
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
        if self._hidden():
            return HIDDEN  # video_render is not called: the last frame's state would be stale
        width, height = self.frame_size
        if not (width and height):
            return NO_VIDEO  # also once the engine runs: a mask from before the video stopped is not in use
        engine = self.engine
        if engine is None:
            return f"Starting ({width}x{height})"
        if self.last_problem is not None:
            return f"Video passes through unchanged: {self.last_problem}"
        in_use = PAUSED if self._paused() else "Mask in use"
        return f"{in_use}: {self._mask_text(engine)}"

    def _mask_text(self, engine: Any) -> str:
        """Which model runs where, how fast, and how old the drawn mask is."""
        report, info = engine.masks.report(), engine.info()
        speed = (
            f"{report.ms_per_mask:.1f} ms per mask, {report.masks_per_s:.0f} masks/s"
            if report.ms_per_mask is not None
            else "measuring speed"
        )
        return (
            f"{report.model} on {report.provider}; {speed}; "
            f"mask age {info.mask_age_frames} frames ({self._mode_text()})"
        )

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

    def _mode_text(self) -> str:
        """What is drawn, e.g. "blur mode, strength 50": the status shows the settings really applied."""
        mode = self.settings.mode
        if Setting.BLUR_STRENGTH in mode_named(mode).settings:
            return f"{mode} mode, strength {self.settings.blur_strength}"
        return f"{mode} mode"

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

    def _repair_stored_settings_later(self) -> None:
        """Queue the write of the repaired values for the UI thread, holding a reference to this filter.

        The reference keeps the source (and its settings) alive should the filter be removed before the
        task runs. Without a UI task queue the repaired values still apply, unwritten (logged at load).
        """
        get_ref = getattr(libobs, "obs_source_get_ref", None)
        queue_ui_task = getattr(libobs, "queue_ui_task", None)
        if get_ref is None or queue_ui_task is None:
            return
        source = get_ref(self.source)
        if not source:
            return  # being destroyed: nobody will read its settings again
        models = self.models
        if not queue_ui_task(lambda: _repair_stored_settings(source, models)):
            libobs.obs_source_release(source)

    def _target_size(self) -> tuple[int, int]:
        """Size of what the filter draws: the source, or the output of the filter before us."""
        target = libobs.obs_filter_get_target(self.source)
        if not target:
            return (0, 0)
        return (libobs.obs_source_get_base_width(target), libobs.obs_source_get_base_height(target))


def _add_main_settings(properties: Properties, models: ModelChoices) -> None:
    """The mode, the model, and the settings of one mode each (the mode list shows and hides those)."""
    mode_list = properties.add_string_list(MODE, "Background", mode_choices())
    Properties.set_modified_callback(mode_list, _mode_list_callback())
    model_list = properties.add_string_list(MODEL, "Segmentation model", ((n, n) for n in models.names))
    Properties.set_long_description(model_list, "Models listed in models/manifest.json")
    properties.add_int_slider(BLUR_STRENGTH, "Blur strength", BLUR_STRENGTH_MIN, BLUR_STRENGTH_MAX)
    properties.add_color(BG_COLOR, "Background colour")
    properties.add_file_path(BG_IMAGE, "Background image", IMAGE_FILES)


def _mode_list_callback() -> Optional[int]:
    """The modified callback that shows each mode's settings (None with a registry that has none)."""
    modified_callback = getattr(source_info, "modified_callback", None)
    return modified_callback(KIND_ID) if modified_callback is not None else None


def _add_advanced_settings(group: Properties) -> None:
    """The settings that apply to every mode and rarely need changing."""
    softness = group.add_int_slider(EDGE_SOFTNESS, "Edge softness", PERCENT_MIN, PERCENT_MAX)
    Properties.set_long_description(softness, "Width of the soft band around the person's outline")
    smoothing = group.add_int_slider(SMOOTHING, "Temporal smoothing", PERCENT_MIN, PERCENT_MAX)
    Properties.set_long_description(smoothing, "Less flicker at the outline; real motion passes at once")
    align = group.add_bool(ALIGN_VIDEO, "Delay the video to match the mask")
    Properties.set_long_description(align, "Shows the frame each mask was computed from (a few frames late)")
    group.add_string_list(DEVICE, "Run the model on", DEVICES.items())


def _stored_values(data: ObsData) -> dict[str, StoredValue]:
    """What the user stored under each setting key, typed as stored (None where only a default exists)."""
    return {key: data.get_stored(key) for key in SETTING_KEYS}


def _repair_stored_settings(source: int, models: ModelChoices) -> None:
    """UI task: write the repaired value of each stored setting that is invalid now, then drop ``source``.

    It repairs what is stored when it runs, not what ``update`` saw: a value changed in between is
    kept if valid, and a second task for the same filter finds nothing left to repair.
    """
    try:
        corrections = _write_repairs(source, models)
        if corrections:
            changes = ", ".join(f"{key} {change}" for key, change in corrections.items())
            name = libobs.source_name(source)
            libobs.log(libobs.LOG_WARNING, f"filter '{name}': repaired invalid settings: {changes}")
    finally:
        libobs.obs_source_release(source)


def _write_repairs(source: int, models: ModelChoices) -> dict[str, str]:
    """Repair the settings stored in ``source``; returns ``{key: "old -> new"}`` for each value written."""
    settings = libobs.obs_source_get_settings(source)
    if not settings:
        return {}
    try:
        data = ObsData(settings)
        repaired, corrections = sanitize(_stored_values(data), models)
        for key in corrections:
            data.set_value(key, getattr(repaired, key))
        return corrections
    finally:
        libobs.obs_data_release(settings)


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
