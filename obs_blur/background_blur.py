"""Background Blur for OBS Studio: add this file in Tools > Scripts, then add the filter to a camera.

This is the script that OBS loads; it stays thin on purpose. ``script_load`` makes the package and
its private dependencies importable, then registers the "Background Blur" video filter through
``obs_blur.obs``. OBS's embedded Python ignores virtual environments, so the dependencies that
``install.py`` put in a private folder are added to ``sys.path`` here (``OBS_BLUR_PYDEPS`` overrides
the folder; the mask worker process reads the same variable).

"Reload Scripts" runs ``script_unload`` and then ``script_load`` again in the same interpreter. libobs
cannot unregister a filter type, so the registration (``obs_blur.obs.source_info``) is never
reloaded; the filter implementation is re-imported so edited code takes effect for new filters.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Callable

# Modules re-imported by "Reload Scripts", dependencies first. Never libobs or source_info: they
# hold the registration libobs keeps pointers into. The frame path's modules need numpy and OpenCV,
# so they are only re-imported when they were loaded (the filter imports them on its first frame).
_RELOADABLE_MODULES = (
    "obs_blur.modes",
    "obs_blur.segmentation.manifest",
    "obs_blur.obs.filter_settings",
    "obs_blur.obs.data",
    "obs_blur.obs.status",
    "obs_blur.obs.dialog",
    "obs_blur.obs.settings_writer",
    "obs_blur.obs.stats_file",
    "obs_blur.obs.frontend",
    "obs_blur.obs.gpu_passes?",
    "obs_blur.obs.frame_readback?",
    "obs_blur.obs.mask_link?",
    "obs_blur.obs.frame_engine?",
    "obs_blur.obs.filter",
)

# What script_load set up and script_unload takes down again.
_hotkey: Any = None
_stats_timer: Any = None


def _put_first_on_sys_path(folder: Path) -> None:
    entry = str(folder)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


def _prepare_imports() -> tuple[Path, str]:
    """Make ``obs_blur`` and the private dependencies importable; returns the folder and what was found.

    The dependency folder goes first so that its numpy wins over an older system numpy that OBS's
    interpreter also sees. The variable is set for child processes (the mask worker) too. A folder
    other users could write to is never put on ``sys.path``: its code would run inside OBS.
    """
    _put_first_on_sys_path(Path(__file__).resolve().parent.parent)  # the folder holding obs_blur
    from obs_blur import paths

    dependencies = paths.private_dependency_folder()
    os.environ.setdefault("OBS_BLUR_PYDEPS", str(dependencies))
    if not dependencies.is_dir():
        return dependencies, "missing: run install.py"
    unsafe = paths.unsafe_code_folder(dependencies)
    if unsafe is not None:
        return dependencies, f"refused: {unsafe}"
    _put_first_on_sys_path(dependencies)
    return dependencies, "found"


def _fresh_filter_module() -> Any:
    """``obs_blur.obs.filter``, re-imported when already loaded so that "Reload Scripts" picks up edits."""
    for entry in _RELOADABLE_MODULES:
        name = entry.rstrip("?")
        module = sys.modules.get(name)
        if module is not None:
            importlib.reload(module)
        elif not entry.endswith("?"):
            importlib.import_module(name)
    return sys.modules["obs_blur.obs.filter"]


def _prefetch_frame_path() -> str:
    """Import the frame path now (numpy, OpenCV: ~0.1 s) rather than on the graphics thread's first frame."""
    try:
        importlib.import_module("obs_blur.obs.frame_engine")
    except ImportError as error:
        return f"frame path unavailable ({error})"
    return "frame path ready"


def _live_filters() -> list[Any]:
    from obs_blur.obs import source_info

    return source_info.live_instances(sys.modules["obs_blur.obs.filter"].KIND_ID)


def _ask_workers_to_quit() -> list[Any]:
    """Ask every live filter's worker to quit, without waiting; returns the filters."""
    filters = _live_filters()
    for instance in filters:
        getattr(instance, "request_worker_stop", lambda: None)()
    return filters


def _start_frontend(settings: Any) -> None:
    """The "Toggle Background Blur" hotkey and, for benchmarks and tests, the stats file timer."""
    global _hotkey, _stats_timer
    from obs_blur.obs import frontend, stats_file

    obs = frontend.obspython()
    if obs is None:
        return
    kind = sys.modules["obs_blur.obs.filter"].KIND_ID
    _hotkey = frontend.ToggleHotkey(obs, lambda: frontend.toggle_filters(kind))
    _hotkey.register(settings)
    path = stats_file.stats_path()
    if path is not None:
        _stats_timer = _stats_writer(path)
        obs.timer_add(_stats_timer, stats_file.WRITE_INTERVAL_MS)


def _stats_writer(path: Path) -> Callable[[], None]:
    """The timer_add callback writing the stats file; a failure is logged once, not every half second.

    A plain function: obspython's timer_add and hotkey registration accept nothing else.
    """
    from obs_blur.obs import libobs, source_info, stats_file

    failed = []

    def write_stats() -> None:
        try:
            with source_info.live_instances_held(sys.modules["obs_blur.obs.filter"].KIND_ID) as filters:
                content = stats_file.collect(filters)  # libobs calls on their sources: none destroyed meanwhile
            stats_file.write_atomically(path, content)
        except Exception as error:  # an escaping exception would put a traceback in the log every time
            if not failed:
                failed.append(error)
                libobs.log(libobs.LOG_ERROR, f"cannot write the stats file {path}: {error}")

    return write_stats


def _stop_frontend() -> None:
    global _hotkey, _stats_timer
    from obs_blur.obs import frontend

    obs = frontend.obspython()
    if _stats_timer is not None and obs is not None:
        obs.timer_remove(_stats_timer)
    if _hotkey is not None:
        _hotkey.unregister()
    _hotkey = _stats_timer = None


def script_description() -> str:
    return (
        "<b>Background Blur</b> (obs-blur): blurs or replaces the background behind people.<br>"
        "Add it to a camera source: <i>Filters &gt; + &gt; Background Blur</i>."
    )


def script_load(settings: Any) -> None:
    """Called by OBS when the script is added, on every OBS start and on "Reload Scripts"."""
    dependencies, found = _prepare_imports()
    from obs_blur.obs import libobs, source_info

    filter_module = _fresh_filter_module()
    kind, display_name = filter_module.KIND_ID, filter_module.DISPLAY_NAME
    registered = source_info.register_filter(kind, display_name, filter_module.BackgroundBlurFilter)
    frame_path = _prefetch_frame_path()
    for instance in _live_filters():  # filters that outlived a "Reload Scripts" may start workers again
        getattr(instance, "resume_worker", lambda: None)()
    _start_frontend(settings)
    action = "registered" if registered else "already registered; implementation reloaded"
    libobs.log(
        libobs.LOG_INFO,
        f"script loaded: filter '{kind}' ({display_name}) {action}; OBS {libobs.version_string()}, "
        f"Python {sys.version.split()[0]}, dependencies {dependencies} ({found}), {frame_path}",
    )


def script_save(settings: Any) -> None:
    """Called by OBS when it saves the script's settings: keep the hotkey's bindings there."""
    if _hotkey is not None:
        _hotkey.save(settings)


def script_unload() -> None:
    """Called on OBS exit and "Reload Scripts": stop every mask worker and the timer.

    The filter type stays registered (libobs cannot unregister) and its filters keep drawing, unchanged
    until a new script_load lets their workers start again; at exit they are destroyed right after.
    """
    source_info = sys.modules.get("obs_blur.obs.source_info")
    libobs = sys.modules.get("obs_blur.obs.libobs")
    if source_info is None or libobs is None:
        return
    _stop_frontend()
    filters = _ask_workers_to_quit()  # all workers wind down at once, then each is waited for
    for instance in filters:
        getattr(instance, "suspend_worker", lambda: None)()
    libobs.log(
        libobs.LOG_INFO,
        f"script unloaded; mask workers stopped; {len(filters)} filter(s) alive stay registered until OBS exits",
    )
