"""Test-only OBS script: answers what obs-websocket cannot ask, from inside OBS, on OBS's UI thread.

obs-websocket cannot read which properties of a filter are visible, nor say on which thread a filter
writes its settings. This script, loaded after background_blur.py through the scene collection
(``ObsSettings.extra_scripts``), answers both:

* At load it wraps the ``obs_data_set_*`` functions of ``obs_blur.obs.libobs`` (module attributes,
  which ``obs_blur.obs.data`` looks up at every call) so that every settings write of the filter is
  recorded with the thread it came from (libobs's ``obs_in_task_thread``).
* On the hotkey ``PROBE_HOTKEY`` (fired by obs-websocket's TriggerHotkeyByName) it reads
  ``$OBS_BLUR_TEST_PROBE/request.json``, answers on the UI thread (queued with ``obs_queue_task``, as
  the Filters dialog runs there) and writes ``answer-<id>.json`` beside it, atomically.

Requests (JSON objects with an ``id``):

* ``{"what": "properties", "source": S, "filter": F, "modes": [...]}``: the filter's properties as the
  Filters dialog gets them (``obs_source_properties``, which runs the modified callbacks with the
  filter's settings) and the names of the visible ones; then, per mode, what the dialog does when
  the user picks it: the mode goes into the dialog's settings and ``obs_property_modified`` runs on
  the mode list; the answer lists the visible names after each, and what the callback returned.
* ``{"what": "click", "source": S, "filter": F, "button": B}``: the filter's button B clicked as the
  Filters dialog does (``obs_property_button_clicked`` with the filter); the answer says whether the
  filter asked for the dialog to be rebuilt.
* ``{"what": "writes"}``: the settings writes recorded so far.

The tests load it through the scene collection, never users. Linux only, like the tests.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from ctypes import POINTER, c_bool, c_char_p, c_int, c_void_p
from pathlib import Path
from typing import Any, Callable

import obspython as obs  # type: ignore[import-not-found]

PROBE_HOTKEY = "obs_blur_tests.probe"
PROBE_FOLDER_VARIABLE = "OBS_BLUR_TEST_PROBE"
OBS_TASK_UI = 0  # enum obs_task_type (obs.h)
OBS_TASK_GRAPHICS = 1
OBS_PROPERTY_GROUP = 12  # enum obs_property_type (obs-properties.h)
RECORDED_SETTERS = (
    "obs_data_set_int",
    "obs_data_set_double",
    "obs_data_set_bool",
    "obs_data_set_string",
    "obs_data_set_default_int",
    "obs_data_set_default_double",
    "obs_data_set_default_bool",
    "obs_data_set_default_string",
)

_TaskCallback = ctypes.CFUNCTYPE(None, c_void_p)  # void (*obs_task_t)(void *param)
_lib = ctypes.CDLL("libobs.so.0")


def _bind(name: str, restype: Any, *argtypes: Any) -> Any:
    function = getattr(_lib, name)
    function.restype, function.argtypes = restype, list(argtypes)
    return function


_queue_task = _bind("obs_queue_task", None, c_int, _TaskCallback, c_void_p, c_bool)
_in_task_thread = _bind("obs_in_task_thread", c_bool, c_int)
_get_source_by_name = _bind("obs_get_source_by_name", c_void_p, c_char_p)
_get_filter_by_name = _bind("obs_source_get_filter_by_name", c_void_p, c_void_p, c_char_p)
_source_release = _bind("obs_source_release", None, c_void_p)
_source_properties = _bind("obs_source_properties", c_void_p, c_void_p)
_source_settings = _bind("obs_source_get_settings", c_void_p, c_void_p)
_properties_destroy = _bind("obs_properties_destroy", None, c_void_p)
_properties_first = _bind("obs_properties_first", c_void_p, c_void_p)
_properties_get = _bind("obs_properties_get", c_void_p, c_void_p, c_char_p)
_property_next = _bind("obs_property_next", c_bool, POINTER(c_void_p))
_property_name = _bind("obs_property_name", c_char_p, c_void_p)
_property_visible = _bind("obs_property_visible", c_bool, c_void_p)
_property_type = _bind("obs_property_get_type", c_int, c_void_p)
_property_group_content = _bind("obs_property_group_content", c_void_p, c_void_p)
_property_modified = _bind("obs_property_modified", c_bool, c_void_p, c_void_p)
_property_button_clicked = _bind("obs_property_button_clicked", c_bool, c_void_p, c_void_p)
_data_create = _bind("obs_data_create", c_void_p)
_data_apply = _bind("obs_data_apply", None, c_void_p, c_void_p)
_data_set_string = _bind("obs_data_set_string", None, c_void_p, c_char_p, c_char_p)
_data_release = _bind("obs_data_release", None, c_void_p)

_writes: list[dict[str, Any]] = []


def _recording(name: str, setter: Callable[..., Any]) -> Callable[..., Any]:
    """``setter`` that first notes the key and the thread; it never raises more than ``setter`` would."""

    def record(data: Any, key: bytes, value: Any) -> Any:
        _writes.append(
            {
                "function": name,
                "key": key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key),
                "ui_thread": bool(_in_task_thread(OBS_TASK_UI)),
                "graphics_thread": bool(_in_task_thread(OBS_TASK_GRAPHICS)),
            }
        )
        return setter(data, key, value)

    record.recorded = True  # type: ignore[attr-defined]
    return record


def _record_settings_writes() -> None:
    libobs = sys.modules["obs_blur.obs.libobs"]
    for name in RECORDED_SETTERS:
        setter = getattr(libobs, name)
        if not getattr(setter, "recorded", False):
            setattr(libobs, name, _recording(name, setter))


def _visible_names(properties: int) -> list[str]:
    """Names of the visible properties, groups included with their visible content, in dialog order."""
    names: list[str] = []
    prop = c_void_p(_properties_first(properties))
    while prop.value:
        if _property_visible(prop):
            names.append(_property_name(prop).decode())
            if _property_type(prop) == OBS_PROPERTY_GROUP:
                names.extend(_visible_names(_property_group_content(prop)))
        if not _property_next(ctypes.byref(prop)):
            break
    return names


def _filter_source(source_name: str, filter_name: str) -> int:
    """A new reference to the filter ``filter_name`` on ``source_name`` (0 when either is missing)."""
    parent = _get_source_by_name(source_name.encode())
    if not parent:
        return 0
    try:
        return _get_filter_by_name(parent, filter_name.encode()) or 0
    finally:
        _source_release(parent)


def _answer_properties(request: dict[str, Any]) -> dict[str, Any]:
    source = _filter_source(request["source"], request["filter"])
    if not source:
        return {"error": f"no filter {request['filter']!r} on {request['source']!r}"}
    try:
        return _dialog_visibility(source, request["modes"])
    finally:
        _source_release(source)


def _dialog_visibility(source: int, modes: list[str]) -> dict[str, Any]:
    properties = _source_properties(source)
    settings = _source_settings(source)
    dialog_settings = _data_create()  # the dialog edits its own copy until it applies it
    try:
        _data_apply(dialog_settings, settings)
        answer: dict[str, Any] = {"opened": _visible_names(properties), "picked": {}, "refresh": {}}
        mode_list = _properties_get(properties, b"mode")
        for mode in modes:
            _data_set_string(dialog_settings, b"mode", mode.encode())
            answer["refresh"][mode] = bool(_property_modified(mode_list, dialog_settings))
            answer["picked"][mode] = _visible_names(properties)
        return answer
    finally:
        _data_release(dialog_settings)
        _data_release(settings)
        _properties_destroy(properties)


def _answer_click(request: dict[str, Any]) -> dict[str, Any]:
    source = _filter_source(request["source"], request["filter"])
    if not source:
        return {"error": f"no filter {request['filter']!r} on {request['source']!r}"}
    properties = _source_properties(source)
    try:
        button = _properties_get(properties, request["button"].encode())  # groups are searched too
        if not button:
            return {"error": f"no property {request['button']!r}"}
        return {"rebuild": bool(_property_button_clicked(button, source))}
    finally:
        _properties_destroy(properties)
        _source_release(source)


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("what") == "properties":
        return _answer_properties(request)
    if request.get("what") == "click":
        return _answer_click(request)
    if request.get("what") == "writes":
        return {"writes": list(_writes)}
    return {"error": f"unknown request {request!r}"}


def _probe_on_ui_thread(_param: Any) -> None:
    """The UI task: read the request, answer it, write the answer (no exception may reach C)."""
    folder = Path(os.environ[PROBE_FOLDER_VARIABLE])
    request: dict[str, Any] = {}
    try:
        request = json.loads((folder / "request.json").read_text())
        answer = {"id": request["id"], "ui_thread": bool(_in_task_thread(OBS_TASK_UI)), **_answer(request)}
    except Exception as error:
        answer = {"id": request.get("id"), "error": f"{type(error).__name__}: {error}"}
    temporary = folder / f".answer-{answer['id']}.tmp"
    temporary.write_text(json.dumps(answer))
    os.replace(temporary, folder / f"answer-{answer['id']}.json")


_probe_task = _TaskCallback(_probe_on_ui_thread)  # kept alive: libobs calls it later


def _pressed(pressed: bool) -> None:
    if pressed:
        _queue_task(OBS_TASK_UI, _probe_task, None, False)


def script_description() -> str:
    return "obs-blur tests: answers questions about the filter's dialog and settings writes, on a hotkey."


def script_load(_settings: Any) -> None:
    """Record settings writes from now on, and register the hotkey (removed again when this script unloads)."""
    _record_settings_writes()
    obs.obs_hotkey_register_frontend(PROBE_HOTKEY, "Probe the Background Blur filter (tests)", _pressed)
