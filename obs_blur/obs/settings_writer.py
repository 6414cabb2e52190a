"""Writes to the filter's stored settings, all of them on OBS's UI thread.

``obs_data`` has no lock, and writing a setting can move its memory while obs-websocket's thread walks
the same settings (a GetSourceFilter). So the filter writes only where OBS's own dialogs write: the
defaults and the read-only rows (status, video delay) as the dialog opens or rebuilds, repaired
values and the lip-sync take-back in tasks queued for the UI thread. ``update`` (the graphics
thread) only reads, through ``stored_values``.

The optional libobs bindings are looked up with ``getattr``: a libobs module loaded by an older
checkout at OBS's start lacks them, and "Reload Scripts" keeps it.
"""

from __future__ import annotations

from typing import Callable

from obs_blur.obs import libobs
from obs_blur.obs.data import ObsData, stored_settings
from obs_blur.obs.dialog import STATUS
from obs_blur.obs.filter_settings import SETTING_KEYS, StoredValue, defaults, sanitize
from obs_blur.obs.status import BEFORE_FIRST_STATUS
from obs_blur.segmentation.manifest import ModelChoices


def write_defaults(settings: int, models: ModelChoices) -> None:
    """The default of every setting and of the status row (libobs asks on the UI thread)."""
    start = defaults(models)
    data = ObsData(settings)
    for key in SETTING_KEYS:
        data.set_default_value(key, getattr(start, key))
    data.set_default_value(STATUS, BEFORE_FIRST_STATUS)


def publish_readouts(source: int, texts: dict[str, str]) -> None:
    """Copy ``{key: text}`` into the settings of ``source``, where the dialog's read-only rows read them.

    Only ever on the UI thread, as the dialog opens or rebuilds (``get_properties``). Done once a
    second from the graphics thread, the race with obs-websocket described above is the likely cause
    of a segfault seen once in the soak test. Tools read the stats file instead.
    """
    with stored_settings(source) as data:
        if data is None:
            return
        for key, text in texts.items():
            data.set_string(key, text)


def stored_values(data: ObsData) -> dict[str, StoredValue]:
    """What the user stored under each setting key, typed as stored (None where only a default exists)."""
    return {key: data.get_stored(key) for key in SETTING_KEYS}


def write_on_ui_thread(source: int, task: Callable[[int], None]) -> None:
    """Run ``task(source)`` on the UI thread, holding a reference to ``source`` until it ran.

    The reference keeps the source (and its settings) alive should the filter be removed before the
    task runs. Without a UI task queue nothing is written (the values still apply; logged at load).
    """
    get_ref = getattr(libobs, "obs_source_get_ref", None)
    queue_ui_task = getattr(libobs, "queue_ui_task", None)
    if get_ref is None or queue_ui_task is None:
        return
    held = get_ref(source)
    if not held:
        return  # being destroyed: nobody will read its settings again

    def run_then_release() -> None:
        try:
            task(held)
        finally:
            libobs.obs_source_release(held)

    if not queue_ui_task(run_then_release):
        libobs.obs_source_release(held)


def repair_stored_settings_later(source: int, models: ModelChoices) -> None:
    """Queue the write of the repaired values for the UI thread."""
    write_on_ui_thread(source, lambda held: _repair_stored_settings(held, models))


def _repair_stored_settings(source: int, models: ModelChoices) -> None:
    """UI task: write the repaired value of each stored setting that is invalid now.

    It repairs what is stored when it runs, not what ``update`` saw: a value changed in between is
    kept if valid, and a second task for the same filter finds nothing left to repair.
    """
    corrections = _write_repairs(source, models)
    if corrections:
        changes = ", ".join(f"{key} {change}" for key, change in corrections.items())
        name = libobs.source_name(source)
        libobs.log(libobs.LOG_WARNING, f"filter '{name}': repaired invalid settings: {changes}")


def _write_repairs(source: int, models: ModelChoices) -> dict[str, str]:
    """Repair the settings stored in ``source``; returns ``{key: "old -> new"}`` for each value written."""
    with stored_settings(source) as data:
        if data is None:
            return {}
        repaired, corrections = sanitize(stored_values(data), models)
        for key in corrections:
            data.set_value(key, getattr(repaired, key))
        return corrections
