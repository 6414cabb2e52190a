"""Registering a filter type with libobs from Python: ``struct obs_source_info`` and its callbacks.

libobs copies the struct and the id string but keeps calling the function pointers for the rest of
the process, and it has no way to unregister a source type. So the ctypes trampolines, the struct
and the name buffer live in a process-global registry that is never freed, and each trampoline
dispatches to whatever implementation the latest ``register_filter`` call installed. OBS's
"Reload Scripts" re-runs the script, which calls ``register_filter`` again with a freshly imported
implementation; that only swaps the Python side. This module must therefore stay in
``sys.modules`` (the script never reloads it), and even an ``importlib.reload`` keeps the registry
because it is looked up in the module's own namespace first.

A filter is destroyed through the source's "destroy" signal, which libobs emits just before it calls
``obs_source_info.destroy``; that field is libobs's own ``bfree``, which frees the instance handle.
So the only Python callback a destroy reaches is a signal handler, and signal handlers can be
disconnected: at interpreter exit (``atexit``, inside OBS's ``Py_Finalize``) every one is, because
OBS destroys sources that something still holds only after it has finalized Python (OBS 32 does
so when a source outlives the scene collection's cleanup), and a ctypes callback into a finalized
interpreter would crash OBS on exit.

No exception may cross into C: ctypes would print it to stderr and hand libobs a zero it did not
choose. Every trampoline catches everything, logs the first occurrence of each distinct failure
as one line (full traceback at debug level) and returns a safe value: NULL, or for video_render a
pass-through so that a bug never blacks out the user's camera.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import threading
import traceback
from collections.abc import Iterator
from ctypes import CFUNCTYPE, Structure, c_bool, c_float, c_int, c_uint32, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from obs_blur.obs import libobs

# libobs refuses a struct larger than its own, and copies only `size` bytes of a smaller one while
# zeroing the rest: the OBS 29 layout therefore also registers on later versions, which only
# append fields (OBS 30 added filter_add after video_get_color_space).
OBS_29_SOURCE_INFO_SIZE = 400


class ObsSourceInfo(Structure):
    """``struct obs_source_info`` as in OBS 29's obs-source.h, field by field.

    Only the id, type, flags and the callbacks we implement are filled; libobs treats every other
    NULL pointer as "not implemented". The layout is checked against the C headers by
    tests/obs/test_source_info_layout.py.
    """

    _fields_ = [
        ("id", c_void_p),
        ("type", c_int),
        ("output_flags", c_uint32),
        ("get_name", c_void_p),
        ("create", c_void_p),
        ("destroy", c_void_p),
        ("get_width", c_void_p),
        ("get_height", c_void_p),
        ("get_defaults", c_void_p),
        ("get_properties", c_void_p),
        ("update", c_void_p),
        ("activate", c_void_p),
        ("deactivate", c_void_p),
        ("show", c_void_p),
        ("hide", c_void_p),
        ("video_tick", c_void_p),
        ("video_render", c_void_p),
        ("filter_video", c_void_p),
        ("filter_audio", c_void_p),
        ("enum_active_sources", c_void_p),
        ("save", c_void_p),
        ("load", c_void_p),
        ("mouse_click", c_void_p),
        ("mouse_move", c_void_p),
        ("mouse_wheel", c_void_p),
        ("focus", c_void_p),
        ("key_click", c_void_p),
        ("filter_remove", c_void_p),
        ("type_data", c_void_p),
        ("free_type_data", c_void_p),
        ("audio_render", c_void_p),
        ("enum_all_sources", c_void_p),
        ("transition_start", c_void_p),
        ("transition_stop", c_void_p),
        ("get_defaults2", c_void_p),
        ("get_properties2", c_void_p),
        ("audio_mix", c_void_p),
        ("icon_type", c_int),
        ("media_play_pause", c_void_p),
        ("media_restart", c_void_p),
        ("media_stop", c_void_p),
        ("media_next", c_void_p),
        ("media_previous", c_void_p),
        ("media_get_duration", c_void_p),
        ("media_get_time", c_void_p),
        ("media_set_time", c_void_p),
        ("media_get_state", c_void_p),
        ("version", c_uint32),
        ("unversioned_id", c_void_p),
        ("missing_files", c_void_p),
        ("video_get_color_space", c_void_p),
    ]


# C signatures of the callbacks we implement (pointers arrive as int, NULL as None).
GetNameCallback = CFUNCTYPE(c_void_p, c_void_p)  # const char *(*)(void *type_data)
CreateCallback = CFUNCTYPE(c_void_p, c_void_p, c_void_p)  # void *(*)(obs_data_t *, obs_source_t *)
SignalCallback = CFUNCTYPE(None, c_void_p, c_void_p)  # void (*)(void *data, calldata_t *params)
GetDefaultsCallback = CFUNCTYPE(None, c_void_p)  # void (*)(obs_data_t *settings)
GetPropertiesCallback = CFUNCTYPE(c_void_p, c_void_p)  # obs_properties_t *(*)(void *data)
UpdateCallback = CFUNCTYPE(None, c_void_p, c_void_p)  # void (*)(void *data, obs_data_t *settings)
VideoTickCallback = CFUNCTYPE(None, c_void_p, c_float)  # void (*)(void *data, float seconds)
VideoRenderCallback = CFUNCTYPE(None, c_void_p, c_void_p)  # void (*)(void *data, gs_effect_t *effect)
# bool (*)(obs_properties_t *props, obs_property_t *property, void *data): a properties button; data is
# the instance handle when the dialog belongs to a filter instance.
ButtonClickedCallback = CFUNCTYPE(c_bool, c_void_p, c_void_p, c_void_p)
# bool (*)(obs_properties_t *props, obs_property_t *property, obs_data_t *settings): a property changed in the
# dialog (or libobs applies the settings to fresh properties); True makes the dialog redraw.
PropertyModifiedCallback = CFUNCTYPE(c_bool, c_void_p, c_void_p, c_void_p)


class FilterInstance(Protocol):
    """One filter on one source, as created by a ``FilterImplementation``."""

    def update(self, settings: int) -> None: ...

    def destroy(self) -> None: ...

    def video_tick(self, seconds: float) -> None: ...

    def video_render(self, effect: Optional[int]) -> None: ...

    def button_clicked(self, property_name: str) -> bool: ...


class FilterImplementation(Protocol):
    """The type-level side of a filter: what the trampolines dispatch to."""

    def create(self, settings: int, source: int) -> Optional[FilterInstance]: ...

    def get_defaults(self, settings: int) -> None: ...

    def get_properties(self, instance: Optional[FilterInstance]) -> Optional[int]: ...

    def property_modified(self, properties: int, property_name: str, settings: int) -> bool: ...


@dataclass
class _LiveInstance:
    """A created filter: the Python object and its ``obs_source_t *`` (for the pass-through fallback)."""

    instance: FilterInstance
    source: int
    kind_id: str = ""


@dataclass
class _RegisteredKind:
    """One registered filter type and the memory libobs points into, which must never be freed."""

    kind_id: str
    implementation: FilterImplementation
    keep_alive: list[object] = field(default_factory=list)
    button_callback: Optional[int] = None  # address of the ButtonClickedCallback trampoline
    modified_callback: Optional[int] = None  # address of the PropertyModifiedCallback trampoline


class _Registry:
    """Process-global state: registered kinds, live instances by handle, failures already logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kinds: dict[str, _RegisteredKind] = {}
        self.instances: dict[int, _LiveInstance] = {}
        self.logged_failures: set[tuple[str, ...]] = set()

    def add_instance(self, handle: int, live: _LiveInstance) -> None:
        """Store ``live`` under ``handle``: the ``void *data`` libobs hands back to every callback.

        The handle is a one-byte block from libobs's allocator, never a pointer to a Python object
        and never dereferenced here: a stale handle simply finds nothing. libobs frees it (``bfree``
        as ``obs_source_info.destroy``) after the destroy signal has removed it from this table.
        """
        with self.lock:
            self.instances[handle] = live

    def instance(self, handle: Optional[int]) -> Optional[_LiveInstance]:
        return self.instances.get(handle) if handle else None

    def remove_instance(self, handle: Optional[int]) -> Optional[_LiveInstance]:
        with self.lock:
            return self.instances.pop(handle, None) if handle else None


# Reused across importlib.reload (same module namespace): a fresh registry would register twice.
_REGISTRY: _Registry = globals().get("_REGISTRY") or _Registry()

DESTROY_SIGNAL = b"destroy"


def _log_failure_once(kind_id: str, callback: str, error: BaseException) -> None:
    """One clear log line for the first occurrence of each distinct failure; traceback at debug level.

    video_render runs 30+ times a second: logging every failure would flood the log and slow OBS.
    """
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno} in {frames[-1].name}" if frames else "?"
    key = (kind_id, callback, type(error).__name__, where)
    if key in _REGISTRY.logged_failures:
        return
    _REGISTRY.logged_failures.add(key)
    try:
        libobs.log(
            libobs.LOG_ERROR,
            f"{kind_id}.{callback} failed: {type(error).__name__}: {error} ({where}); "
            "repeats of this error are not logged",
        )
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        libobs.log(libobs.LOG_DEBUG, f"{kind_id}.{callback} traceback:\n{details}")
    except BaseException:  # logging must never raise into C either
        pass


def _guarded(kind_id: str, callback: str, on_error: Callable[..., Any]) -> Callable[[Callable[..., Any]], Any]:
    """Wrap a trampoline so that nothing escapes into C; ``on_error(*args)`` gives the value to return."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        def trampoline(*args: Any) -> Any:
            try:
                return function(*args)
            except BaseException as error:  # C cannot take a Python exception
                _log_failure_once(kind_id, callback, error)
                try:
                    return on_error(*args)
                except BaseException as fallback_error:
                    _log_failure_once(kind_id, f"{callback} fallback", fallback_error)
                    return None

        trampoline.__name__ = f"{kind_id}_{callback}"
        return trampoline

    return decorate


def _return_null(*_args: Any) -> None:
    return None


def _return_false(*_args: Any) -> bool:
    return False


def _empty_properties(*_args: Any) -> Optional[int]:
    """A valid, empty properties object: the properties dialog copes with it better than with NULL."""
    return libobs.obs_properties_create()


def _pass_through(handle: Optional[int], _effect: Optional[int]) -> None:
    """Draw the unfiltered source, so a failing filter shows the camera rather than nothing."""
    live = _REGISTRY.instance(handle)
    if live is not None:
        libobs.obs_source_skip_video_filter(live.source)


def _make_trampolines(kind: _RegisteredKind, name_buffer: ctypes.Array) -> dict[str, Any]:
    """The C-callable callbacks for ``kind``; each looks up the current implementation at call time."""
    kind_id = kind.kind_id

    @_guarded(kind_id, "get_name", _return_null)
    def get_name(_type_data: Optional[int]) -> int:
        return ctypes.addressof(name_buffer)

    @_guarded(kind_id, "create", _return_null)
    def create(settings: int, source: int) -> Optional[int]:
        instance = kind.implementation.create(settings, source)
        if instance is None:
            return None
        return _attach(_LiveInstance(instance, source, kind_id))

    @_guarded(kind_id, "get_defaults", _return_null)
    def get_defaults(settings: int) -> None:
        kind.implementation.get_defaults(settings)

    @_guarded(kind_id, "get_properties", _empty_properties)
    def get_properties(handle: Optional[int]) -> Optional[int]:
        live = _REGISTRY.instance(handle)
        return kind.implementation.get_properties(live.instance if live else None)

    @_guarded(kind_id, "update", _return_null)
    def update(handle: Optional[int], settings: int) -> None:
        live = _REGISTRY.instance(handle)
        if live is not None:
            live.instance.update(settings)

    @_guarded(kind_id, "video_tick", _return_null)
    def video_tick(handle: Optional[int], seconds: float) -> None:
        live = _REGISTRY.instance(handle)
        if live is not None:
            live.instance.video_tick(seconds)

    @_guarded(kind_id, "video_render", _pass_through)
    def video_render(handle: Optional[int], effect: Optional[int]) -> None:
        live = _REGISTRY.instance(handle)
        if live is not None:
            live.instance.video_render(effect)

    return {
        "get_name": GetNameCallback(get_name),
        "create": CreateCallback(create),
        "get_defaults": GetDefaultsCallback(get_defaults),
        "get_properties": GetPropertiesCallback(get_properties),
        "update": UpdateCallback(update),
        "video_tick": VideoTickCallback(video_tick),
        "video_render": VideoRenderCallback(video_render),
    }


def _attach(live: _LiveInstance) -> int:
    """Give ``live`` its handle and have the source's "destroy" signal destroy it; returns the handle."""
    handle = libobs.bmalloc(1)
    if not handle:
        live.instance.destroy()
        raise MemoryError("bmalloc returned NULL")
    _REGISTRY.add_instance(handle, live)
    signals = libobs.obs_source_get_signal_handler(live.source)
    libobs.signal_handler_connect(signals, DESTROY_SIGNAL, _destroy_signal_address(), handle)
    return handle


def _on_destroy_signal(handle: Optional[int], _params: Optional[int]) -> None:
    """The filter's source is being destroyed: stop its worker and free its GPU objects, once."""
    live = _REGISTRY.remove_instance(handle)
    if live is None:
        return
    try:
        live.instance.destroy()
    except BaseException as error:  # C cannot take a Python exception
        _log_failure_once(live.kind_id, "destroy", error)


# One C callback for every instance, created once per process (``importlib.reload`` keeps it).
_DESTROY_SIGNAL_CALLBACK: Any = globals().get("_DESTROY_SIGNAL_CALLBACK") or SignalCallback(
    lambda handle, params: _on_destroy_signal(handle, params)
)


def _destroy_signal_address() -> int:
    return ctypes.cast(_DESTROY_SIGNAL_CALLBACK, c_void_p).value or 0


def detach_destroy_signals() -> int:
    """Disconnect every live instance's destroy handler; returns how many. Runs at interpreter exit.

    After this, a source that libobs destroys only frees its handle, in C. Each handle is looked up
    again right before its disconnect, so one destroyed meanwhile (its source freed) is skipped.
    """
    detached = 0
    for handle in list(_REGISTRY.instances):
        live = _REGISTRY.instance(handle)
        if live is None:
            continue
        signals = libobs.obs_source_get_signal_handler(live.source)
        libobs.signal_handler_disconnect(signals, DESTROY_SIGNAL, _destroy_signal_address(), handle)
        detached += 1
    return detached


def _make_button_trampoline(kind: _RegisteredKind) -> Any:
    """One C callback for every button of every instance: it finds the instance by the handle libobs passes."""

    @_guarded(kind.kind_id, "button_clicked", _return_false)
    def button_clicked(_properties: Optional[int], prop: Optional[int], handle: Optional[int]) -> bool:
        live = _REGISTRY.instance(handle)
        if live is None or not prop:
            return False  # the type-level dialog (no instance) has nothing to act on
        raw = libobs.obs_property_name(prop)
        return bool(live.instance.button_clicked(raw.decode("utf-8", "replace") if raw else ""))

    return ButtonClickedCallback(button_clicked)


def _make_modified_trampoline(kind: _RegisteredKind) -> Any:
    """One C callback for every watched property of every dialog of ``kind``; dispatches by property name.

    It runs on the UI thread, with the dialog's settings: no instance is needed to decide what to show.
    """

    @_guarded(kind.kind_id, "property_modified", _return_false)
    def property_modified(properties: Optional[int], prop: Optional[int], settings: Optional[int]) -> bool:
        handler = getattr(kind.implementation, "property_modified", None)
        if handler is None or not properties or not prop or not settings:
            return False
        raw = libobs.obs_property_name(prop)
        return bool(handler(properties, raw.decode("utf-8", "replace") if raw else "", settings))

    return PropertyModifiedCallback(property_modified)


def _build_source_info(id_buffer: ctypes.Array, trampolines: dict[str, Any]) -> ObsSourceInfo:
    info = ObsSourceInfo()
    info.id = ctypes.addressof(id_buffer)
    info.type = libobs.OBS_SOURCE_TYPE_FILTER
    info.output_flags = libobs.OBS_SOURCE_VIDEO
    for name, trampoline in trampolines.items():
        setattr(info, name, ctypes.cast(trampoline, c_void_p).value)
    info.destroy = libobs.address_of(libobs.bfree)  # frees the handle; the destroy signal did the rest
    return info


def register_filter(kind_id: str, display_name: str, implementation: FilterImplementation) -> bool:
    """Register the video filter ``kind_id`` once per process, or swap its implementation.

    Returns True when this call registered the type with libobs, False when the type already
    existed (a script reload) and only ``implementation`` was replaced; instances created earlier
    keep running the code they were created with until they are destroyed.
    """
    if ctypes.sizeof(ObsSourceInfo) != OBS_29_SOURCE_INFO_SIZE:
        raise RuntimeError(f"obs_source_info is {ctypes.sizeof(ObsSourceInfo)} bytes here, not 400: unsupported ABI")
    with _REGISTRY.lock:
        existing = _REGISTRY.kinds.get(kind_id)
        if existing is not None:
            existing.implementation = implementation
            return False
        kind = _RegisteredKind(kind_id, implementation)
        _REGISTRY.kinds[kind_id] = kind
    name_buffer = ctypes.create_string_buffer(display_name.encode("utf-8"))
    id_buffer = ctypes.create_string_buffer(kind_id.encode("ascii"))
    trampolines = _make_trampolines(kind, name_buffer)
    info = _build_source_info(id_buffer, trampolines)
    button = _make_button_trampoline(kind)
    kind.button_callback = ctypes.cast(button, c_void_p).value
    modified = _make_modified_trampoline(kind)
    kind.modified_callback = ctypes.cast(modified, c_void_p).value
    kind.keep_alive.extend([name_buffer, id_buffer, trampolines, info, button, modified])
    libobs.obs_register_source_s(ctypes.addressof(info), ctypes.sizeof(info))
    if len(_REGISTRY.kinds) == 1:
        atexit.register(detach_destroy_signals)
    return True


def is_registered(kind_id: str) -> bool:
    """Whether this process already registered ``kind_id`` (it stays registered until OBS exits)."""
    return kind_id in _REGISTRY.kinds


def live_instance_count() -> int:
    """Filter instances alive right now, all kinds together."""
    return len(_REGISTRY.instances)


def live_instances(kind_id: Optional[str] = None) -> list[Any]:
    """The filter instances alive right now (of ``kind_id``, or all), oldest first.

    Instances created before a "Reload Scripts" are included: they run the code they were created
    with, so callers use only methods every version has (or check with ``getattr``).
    """
    with live_instances_held(kind_id) as instances:
        return instances


@contextlib.contextmanager
def live_instances_held(kind_id: Optional[str] = None) -> Iterator[list[Any]]:
    """The filter instances alive right now, none of which can be destroyed until the block ends.

    libobs destroys a filter on its destruction thread: the "destroy" signal handler takes the
    instance out of this registry (under its lock), then libobs frees the source. ctypes releases
    the GIL around every libobs call, so a thread that walks the instances and calls libobs with
    their sources (the stats timer on the graphics thread, the hotkey) could otherwise see a source
    freed between two calls. Holding the lock makes the destroy handler wait for the block instead.
    Inside, call no libobs function that disconnects or emits a filter's "destroy" signal: the
    waiting handler holds that signal's mutex.
    """
    with _REGISTRY.lock:
        yield [live.instance for live in _REGISTRY.instances.values() if kind_id is None or live.kind_id == kind_id]


def button_callback(kind_id: str) -> Optional[int]:
    """Address of the ``obs_property_clicked_t`` for buttons in ``kind_id``'s dialog (None if unregistered).

    Buttons call ``instance.button_clicked(property_name)``; returning True makes OBS rebuild the dialog.
    """
    kind = _REGISTRY.kinds.get(kind_id)
    return kind.button_callback if kind is not None else None


def modified_callback(kind_id: str) -> Optional[int]:
    """Address of the ``obs_property_modified_t`` for properties in ``kind_id``'s dialog (None if unregistered).

    It calls ``implementation.property_modified(properties, property_name, settings)``, whose True
    makes OBS redraw the dialog (e.g. with other properties shown).
    """
    kind = _REGISTRY.kinds.get(kind_id)
    return kind.modified_callback if kind is not None else None
