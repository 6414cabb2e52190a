"""Test-only OBS script: runs OBS's own "Reload Scripts" for background_blur.py when a hotkey fires.

The Scripts dialog's "Reload Scripts" button calls libobs-scripting's ``obs_script_reload`` for the
selected script on OBS's UI thread (frontend-tools, ``ScriptsTool::ReloadScript``). A headless test
cannot click it, so this script makes the same call on the same thread, for the same
``obs_script_t``:

* obs-websocket's TriggerHotkeyByName fires the frontend hotkey ``RELOAD_HOTKEY``;
* its callback (libobs-scripting's deferred-call thread) queues a UI task with ``obs_queue_task``;
  ``obs_script_reload`` waits for that very thread to drain its queue, so it cannot run there;
* the task calls ``obs_script_reload`` with background_blur.py's ``obs_script_t *``, which
  libobs-scripting put into that module as the capsule ``__script_data__`` (its
  ``struct obs_python_script`` begins with the ``obs_script_t``).

The script logs one line with what ``obs_script_reload`` returned; tests wait for it. The tests load
it through the scene collection (``ObsSettings.extra_scripts``), never users.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import obspython as obs  # type: ignore[import-not-found]

RELOAD_HOTKEY = "obs_blur_tests.reload_background_blur"
RELOADED_SCRIPT_MODULE = "background_blur"
RESULT_LINE = "obs_script_reload(background_blur.py) returned"
OBS_TASK_UI = 0  # enum obs_task_type (obs.h)

_TaskCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # void (*obs_task_t)(void *param)
_libobs = ctypes.CDLL("libobs.so.0")
_libobs.obs_queue_task.argtypes = [ctypes.c_int, _TaskCallback, ctypes.c_void_p, ctypes.c_bool]
_libobs.obs_queue_task.restype = None
# Debian names the library .so.1 up to OBS 30 and .so.0 from OBS 31 on.
SCRIPTING_LIBRARIES = ("libobs-scripting.so.1", "libobs-scripting.so.0", "libobs-scripting.so")


def _loaded_scripting_library() -> ctypes.CDLL:
    """libobs-scripting as OBS's scripts tool already loaded it (dlopen hands back that same copy)."""
    for name in SCRIPTING_LIBRARIES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise OSError(f"none of {', '.join(SCRIPTING_LIBRARIES)} could be loaded")


_scripting = _loaded_scripting_library()
_scripting.obs_script_reload.argtypes = [ctypes.c_void_p]
_scripting.obs_script_reload.restype = ctypes.c_bool
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_pointer.restype = ctypes.c_void_p


def _reload_on_ui_thread(_param: Any) -> None:
    """The UI task: what "Reload Scripts" does for the selected script (no exception may reach C)."""
    try:
        module = sys.modules[RELOADED_SCRIPT_MODULE]
        script = _capsule_pointer(module.__script_data__, None)
        obs.script_log(obs.LOG_INFO, f"{RESULT_LINE} {_scripting.obs_script_reload(script)}")
    except Exception as error:
        obs.script_log(obs.LOG_ERROR, f"{RESULT_LINE} nothing: {type(error).__name__}: {error}")


_reload_task = _TaskCallback(_reload_on_ui_thread)  # kept alive: libobs calls it later


def _pressed(pressed: bool) -> None:
    if pressed:
        _libobs.obs_queue_task(OBS_TASK_UI, _reload_task, None, False)


def script_description() -> str:
    return "obs-blur tests: reload background_blur.py as the Scripts dialog does, on a hotkey."


def script_load(_settings: Any) -> None:
    """Register the hotkey; libobs-scripting removes it again when this script unloads."""
    obs.obs_hotkey_register_frontend(RELOAD_HOTKEY, "Reload background_blur.py (tests)", _pressed)
