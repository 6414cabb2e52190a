"""The Background Blur filter: one ``BackgroundBlurFilter`` per filter instance in OBS.

Stage 1 registers the filter, manages its settings and passes the video through unchanged. The
render path is split into small steps (``_render_pass_through`` today) so the GPU frame path and
the mask worker process can slot in without reshaping the class.

Threads: libobs calls ``create``/``get_properties`` on the UI thread, ``update`` (deferred by libobs
for video sources), ``video_tick`` and ``video_render`` on the graphics thread, and ``video_render``
also on the obs-websocket thread for screenshots. obspython never releases the GIL, so nothing here
may start a busy Python thread or block while holding it.
"""

from __future__ import annotations

from typing import Optional

from obs_blur.obs import libobs
from obs_blur.obs.data import ObsData, Properties
from obs_blur.obs.filter_settings import (
    BLUR_STRENGTH,
    BLUR_STRENGTH_MAX,
    BLUR_STRENGTH_MIN,
    MODE,
    MODEL,
    MODES,
    FilterSettings,
    ModelChoices,
    defaults,
    read_model_choices,
    sanitize,
)

KIND_ID = "obs_blur_filter"
DISPLAY_NAME = "Background Blur"
STATUS = "status"


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
        data.set_default_string(MODE, start.mode)
        data.set_default_string(MODEL, start.model)
        data.set_default_int(BLUR_STRENGTH, start.blur_strength)

    @staticmethod
    def get_properties(instance: Optional[BackgroundBlurFilter]) -> int:
        """The settings dialog; ``instance`` is None when OBS asks for the type's properties only."""
        models = instance.models if instance is not None else read_model_choices()
        properties = Properties()
        properties.add_string_list(MODE, "Background", MODES.items())
        model_list = properties.add_string_list(MODEL, "Segmentation model", ((n, n) for n in models.names))
        Properties.set_long_description(model_list, "Models listed in models/manifest.json")
        properties.add_int_slider(BLUR_STRENGTH, "Blur strength", BLUR_STRENGTH_MIN, BLUR_STRENGTH_MAX)
        status = instance.status_text() if instance is not None else _models_status(models)
        properties.add_info_text(STATUS, status)
        return properties.pointer

    # --- instance callbacks -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return libobs.source_name(self.source)

    def update(self, settings: int) -> None:
        """Apply new settings; invalid stored values are repaired and written back so the dialog shows them."""
        self.models = read_model_choices()
        data = ObsData(settings)
        stored = {key: data.get_stored(key) for key in (MODE, MODEL, BLUR_STRENGTH)}
        self.settings, corrections = sanitize(stored, self.models)
        if corrections:
            self._write_back(data, corrections)

    def destroy(self) -> None:
        """Nothing to release yet; the GPU path will free its textures here (inside the graphics context)."""
        libobs.log(libobs.LOG_INFO, f"filter '{self.name}' destroyed")

    def video_tick(self, seconds: float) -> None:
        del seconds
        self.frame_size = self._target_size()

    def video_render(self, effect: Optional[int]) -> None:
        del effect  # the effect to use for sync sources; the blur will bring its own
        self._render_pass_through()

    # --- helpers ----------------------------------------------------------------------------------
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

    def _render_pass_through(self) -> None:
        """Draw the target unchanged: the state before the first mask, and whenever processing is off."""
        libobs.obs_source_skip_video_filter(self.source)

    def describe_settings(self) -> str:
        model = self.settings.model or "none"
        return f"mode {self.settings.mode}, model {model}, blur strength {self.settings.blur_strength}"

    def status_text(self) -> str:
        """One line for the dialog: what the filter does right now and why."""
        width, height = self.frame_size
        size = f"{width}x{height}" if width and height else "no video yet"
        problem = f"; {self.models.problem}" if self.models.problem else ""
        return f"Passing video through unchanged (blur not enabled yet) - {size}, {self.describe_settings()}{problem}"


def _models_status(models: ModelChoices) -> str:
    return models.problem or f"{len(models.names)} models available"
