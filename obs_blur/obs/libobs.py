"""ctypes bindings to the libobs functions that the filter uses, with their C signatures.

Why ctypes and not ``obspython``: obspython has no ``obs_register_source`` and its SWIG wrappers
cannot pass ``uint8_t **`` / ``const uint8_t *`` buffers (stage-surface maps, texture uploads).
Why ``ctypes.CDLL`` and not ``PyDLL``: CDLL releases the GIL for the duration of every call.
obspython never releases it, so a Python thread blocked in a libobs lock (``obs_enter_graphics``)
while holding the GIL would deadlock against the graphics thread waiting to run our callback.

Every function has its ``restype`` and ``argtypes`` declared: without them ctypes passes and returns
C ``int``, which truncates 64-bit pointers. Signatures follow the OBS 29 headers. Pointers to opaque
libobs objects are plain integers (``c_void_p``); 0/None is NULL.
Functions that only one feature needs are bound with ``_bind_optional``: a libobs without them
turns that feature off with one log line instead of refusing to load the filter.

Importing this module loads libobs, so only import it inside OBS (or where libobs is installed).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, Optional

from obs_blur import platforms

LOG_PREFIX = "[obs-blur]"

# enum log levels (util/base.h)
LOG_ERROR = 100
LOG_WARNING = 200
LOG_INFO = 300
LOG_DEBUG = 400

# enum obs_source_type, output flags (obs-source.h)
OBS_SOURCE_TYPE_FILTER = 1
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_AUDIO = 1 << 1
OBS_SOURCE_ASYNC = 1 << 2
OBS_SOURCE_CUSTOM_DRAW = 1 << 3

# enum obs_data_type (obs-data.h)
OBS_DATA_NULL = 0
OBS_DATA_STRING = 1
OBS_DATA_NUMBER = 2
OBS_DATA_BOOLEAN = 3

# enum obs_media_state (obs-source.h)
OBS_MEDIA_STATE_PAUSED = 4

# enum obs_combo_type, obs_combo_format, obs_text_type, obs_path_type, obs_group_type (obs-properties.h)
OBS_COMBO_TYPE_LIST = 2
OBS_COMBO_FORMAT_STRING = 3
OBS_TEXT_INFO = 3
OBS_PATH_FILE = 0
OBS_GROUP_NORMAL = 1

# enum obs_task_type (obs.h)
OBS_TASK_UI = 0

# enum obs_base_effect, obs_allow_direct_render (obs.h)
OBS_EFFECT_DEFAULT = 0
OBS_NO_DIRECT_RENDERING = 0
OBS_ALLOW_DIRECT_RENDERING = 1

# enum gs_color_format, gs_zstencil_format, texture flags, blend types, clear flags (graphics.h)
GS_R8 = 2
GS_RGBA = 3
GS_BGRA = 5
GS_RGBA16F = 9
GS_RGBA32F = 10
GS_R32F = 14
GS_ZS_NONE = 0
GS_DYNAMIC = 1 << 1
GS_BLEND_ZERO = 0
GS_BLEND_ONE = 1
GS_BLEND_SRCALPHA = 4
GS_BLEND_INVSRCALPHA = 5
GS_CLEAR_COLOR = 1 << 0


def library_candidates(platform: str = sys.platform) -> list[str]:
    """Names under which libobs can be opened on ``platform``.

    Inside OBS the library is already mapped into the process, so the loader returns that copy:
    Windows finds ``obs.dll`` by module name, macOS resolves the framework through the app's rpath.
    """
    return list(platforms.current(platform).libobs_names)


def load_libobs() -> ctypes.CDLL:
    """Open libobs, falling back to the symbols already in the process (POSIX only).

    The fallback covers OBS builds that ship libobs under another name: the obs binary links it,
    so its symbols are visible through the process handle.
    """
    failures = []
    for name in library_candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as error:
            failures.append(f"{name}: {error}")
    if platforms.current().posix:
        process = ctypes.CDLL(None)
        if hasattr(process, "obs_register_source_s"):
            return process
        failures.append("process symbols: no obs_register_source_s")
    raise OSError("cannot load libobs (" + "; ".join(failures) + ")")


_lib = load_libobs()


def _bind(name: str, restype: Any, *argtypes: Any) -> Any:
    """The libobs function ``name`` with its C signature declared."""
    function = getattr(_lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_P = c_void_p  # any pointer to an opaque libobs object

# --- process, logging, memory ---------------------------------------------------------------------
obs_get_version_string = _bind("obs_get_version_string", c_char_p)
bmalloc = _bind("bmalloc", _P, c_size_t)
bfree = _bind("bfree", None, _P)
# Variadic: only the fixed arguments are declared, which is what Apple arm64's calling convention
# needs; callers pass the message as one extra c_char_p behind a "%s" format.
blog = _bind("blog", None, c_int, c_char_p)


def log(level: int, message: str) -> None:
    """Write one record to the OBS log, prefixed so that our lines are easy to grep.

    blog() is used rather than print(): prints from ctypes callbacks land as "[Unknown Script]",
    because OBS only knows which script is running inside its own script callbacks.
    """
    text = f"{LOG_PREFIX} {message}".replace("\0", "\\0").encode("utf-8", "replace")
    blog(level, b"%s", c_char_p(text))


def version_string() -> str:
    """The running libobs version, e.g. "29.0.2"."""
    raw = obs_get_version_string()
    return raw.decode("utf-8", "replace") if raw else "unknown"


def _bind_optional(name: str, without: str, restype: Any, *argtypes: Any) -> Optional[Any]:
    """Like ``_bind``, or None when this libobs lacks ``name``; ``without`` says what is then missing."""
    if not hasattr(_lib, name):
        log(LOG_WARNING, f"libobs {version_string()} has no {name}: {without}")
        return None
    return _bind(name, restype, *argtypes)


# --- registration ---------------------------------------------------------------------------------
obs_register_source_s = _bind("obs_register_source_s", None, _P, c_size_t)

# --- signals --------------------------------------------------------------------------------------
obs_source_get_signal_handler = _bind("obs_source_get_signal_handler", _P, _P)
signal_handler_connect = _bind("signal_handler_connect", None, _P, c_char_p, _P, _P)
signal_handler_disconnect = _bind("signal_handler_disconnect", None, _P, c_char_p, _P, _P)


def address_of(function: Any) -> int:
    """The C address of a bound libobs function, for struct fields that libobs calls itself."""
    return ctypes.cast(function, c_void_p).value or 0

# --- obs_data (settings) --------------------------------------------------------------------------
obs_data_get_int = _bind("obs_data_get_int", c_int64, _P, c_char_p)
obs_data_get_double = _bind("obs_data_get_double", c_double, _P, c_char_p)
obs_data_get_bool = _bind("obs_data_get_bool", c_bool, _P, c_char_p)
obs_data_get_string = _bind("obs_data_get_string", c_char_p, _P, c_char_p)
obs_data_set_int = _bind("obs_data_set_int", None, _P, c_char_p, c_int64)
obs_data_set_double = _bind("obs_data_set_double", None, _P, c_char_p, c_double)
obs_data_set_bool = _bind("obs_data_set_bool", None, _P, c_char_p, c_bool)
obs_data_set_string = _bind("obs_data_set_string", None, _P, c_char_p, c_char_p)
obs_data_set_default_int = _bind("obs_data_set_default_int", None, _P, c_char_p, c_int64)
obs_data_set_default_double = _bind("obs_data_set_default_double", None, _P, c_char_p, c_double)
obs_data_set_default_bool = _bind("obs_data_set_default_bool", None, _P, c_char_p, c_bool)
obs_data_set_default_string = _bind("obs_data_set_default_string", None, _P, c_char_p, c_char_p)
obs_data_has_user_value = _bind("obs_data_has_user_value", c_bool, _P, c_char_p)
obs_data_item_byname = _bind("obs_data_item_byname", _P, _P, c_char_p)
obs_data_item_gettype = _bind("obs_data_item_gettype", c_int, _P)
obs_data_item_release = _bind("obs_data_item_release", None, POINTER(c_void_p))
obs_data_release = _bind("obs_data_release", None, _P)

# --- properties -----------------------------------------------------------------------------------
obs_properties_create = _bind("obs_properties_create", _P)
obs_properties_destroy = _bind("obs_properties_destroy", None, _P)
obs_properties_add_list = _bind("obs_properties_add_list", _P, _P, c_char_p, c_char_p, c_int, c_int)
obs_property_list_add_string = _bind("obs_property_list_add_string", c_size_t, _P, c_char_p, c_char_p)
obs_properties_add_int_slider = _bind("obs_properties_add_int_slider", _P, _P, c_char_p, c_char_p, c_int, c_int, c_int)
obs_properties_add_float_slider = _bind(
    "obs_properties_add_float_slider", _P, _P, c_char_p, c_char_p, c_double, c_double, c_double
)
obs_properties_add_bool = _bind("obs_properties_add_bool", _P, _P, c_char_p, c_char_p)
obs_properties_add_text = _bind("obs_properties_add_text", _P, _P, c_char_p, c_char_p, c_int)
obs_properties_add_color = _bind("obs_properties_add_color", _P, _P, c_char_p, c_char_p)
obs_properties_add_path = _bind("obs_properties_add_path", _P, _P, c_char_p, c_char_p, c_int, c_char_p, c_char_p)
# The callback is passed as a plain function pointer: the CFUNCTYPE object lives in source_info's registry.
obs_properties_add_button = _bind("obs_properties_add_button", _P, _P, c_char_p, c_char_p, _P)
obs_property_name = _bind("obs_property_name", c_char_p, _P)
obs_property_set_long_description = _bind("obs_property_set_long_description", None, _P, c_char_p)
# The dialog shows only the settings of the chosen mode: a modified callback on the mode list hides the others.
_ALL_SETTINGS_SHOWN = "the dialog shows the settings of every mode"
obs_properties_get = _bind_optional("obs_properties_get", _ALL_SETTINGS_SHOWN, _P, _P, c_char_p)
obs_property_set_visible = _bind_optional("obs_property_set_visible", _ALL_SETTINGS_SHOWN, None, _P, c_bool)
# The callback is a plain function pointer here too, kept alive by source_info's registry.
obs_property_set_modified_callback = _bind_optional(
    "obs_property_set_modified_callback", _ALL_SETTINGS_SHOWN, None, _P, _P
)
obs_properties_add_group = _bind_optional(
    "obs_properties_add_group", "the advanced settings are not grouped", _P, _P, c_char_p, c_char_p, c_int, _P
)

# --- sources and filters --------------------------------------------------------------------------
obs_source_get_name = _bind("obs_source_get_name", c_char_p, _P)
obs_source_get_output_flags = _bind("obs_source_get_output_flags", c_uint32, _P)
obs_source_get_base_width = _bind("obs_source_get_base_width", c_uint32, _P)
obs_source_get_base_height = _bind("obs_source_get_base_height", c_uint32, _P)
obs_source_get_settings = _bind("obs_source_get_settings", _P, _P)  # a new reference: obs_data_release it
obs_source_release = _bind("obs_source_release", None, _P)
_NO_WRITE_BACK = "repaired settings are applied but not written back into the settings"
# A new reference (NULL once the source is being destroyed): obs_source_release it.
obs_source_get_ref = _bind_optional("obs_source_get_ref", _NO_WRITE_BACK, _P, _P)
obs_source_showing = _bind_optional("obs_source_showing", "the status cannot tell a hidden source", c_bool, _P)
obs_source_media_get_state = _bind_optional(
    "obs_source_media_get_state", "the status cannot tell a paused video", c_int, _P
)
obs_source_enabled = _bind("obs_source_enabled", c_bool, _P)
obs_source_set_enabled = _bind("obs_source_set_enabled", None, _P, c_bool)
obs_filter_get_target = _bind("obs_filter_get_target", _P, _P)
obs_filter_get_parent = _bind("obs_filter_get_parent", _P, _P)
obs_source_video_render = _bind("obs_source_video_render", None, _P)
obs_source_skip_video_filter = _bind("obs_source_skip_video_filter", None, _P)
obs_source_process_filter_tech_end = _bind(
    "obs_source_process_filter_tech_end", None, _P, _P, c_uint32, c_uint32, c_char_p
)
obs_get_base_effect = _bind("obs_get_base_effect", _P, c_int)

# --- audio sync (the lip-sync button) -------------------------------------------------------------
# Whether libobs was started (these read its global state, NULL in a process that only loaded libobs).
obs_initialized = _bind("obs_initialized", c_bool)
_NO_LIP_SYNC = "the lip-sync button cannot set an audio sync offset"
# bool (*)(void *param, obs_source_t *source): one source of obs_enum_sources; False stops the walk.
EnumSourcesCallback = CFUNCTYPE(c_bool, c_void_p, c_void_p)
obs_enum_sources = _bind_optional("obs_enum_sources", _NO_LIP_SYNC, None, _P, _P)
obs_get_source_by_name = _bind_optional("obs_get_source_by_name", _NO_LIP_SYNC, _P, c_char_p)  # new reference
obs_source_get_sync_offset = _bind_optional("obs_source_get_sync_offset", _NO_LIP_SYNC, c_int64, _P)
obs_source_set_sync_offset = _bind_optional("obs_source_set_sync_offset", _NO_LIP_SYNC, None, _P, c_int64)
obs_get_frame_interval_ns = _bind_optional("obs_get_frame_interval_ns", _NO_LIP_SYNC, c_uint64)

# --- tasks ----------------------------------------------------------------------------------------
TaskCallback = CFUNCTYPE(None, c_void_p)  # void (*obs_task_t)(void *param)
# The callback is passed as a plain function pointer: the CFUNCTYPE object is this module's _UI_TASKS.callback.
obs_queue_task = _bind_optional("obs_queue_task", _NO_WRITE_BACK, None, c_int, _P, _P, c_bool)


class _UiTasks:
    """Python callables waiting for OBS's UI thread, each under the number libobs hands back as ``param``.

    libobs keeps only a function pointer and a ``void *`` per task, and may run the task after the
    code that queued it was reloaded ("Reload Scripts") or its filter destroyed. So there is one C
    callback for the whole process, created once and never freed, and the task itself stays here
    until it ran: nothing libobs points to can be collected.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[int, Callable[[], None]] = {}
        self.next_key = 1
        self.callback = TaskCallback(self._run)

    def add(self, task: Callable[[], None]) -> int:
        with self.lock:
            key = self.next_key
            self.next_key += 1
            self.pending[key] = task
        return key

    def discard(self, key: int) -> None:
        with self.lock:
            self.pending.pop(key, None)

    def _run(self, param: Optional[int]) -> None:
        """The C callback: runs the task once; no exception may cross into C."""
        with self.lock:
            task = self.pending.pop(param or 0, None)
        if task is None:
            return
        try:
            task()
        except BaseException as error:
            with contextlib.suppress(BaseException):  # logging must not raise into C either
                log(LOG_ERROR, f"a UI task failed: {type(error).__name__}: {error}")


# Kept across importlib.reload (same module namespace): libobs may still hold the old callback.
_UI_TASKS: _UiTasks = globals().get("_UI_TASKS") or _UiTasks()


def queue_ui_task(task: Callable[[], None]) -> bool:
    """Run ``task`` on OBS's UI thread: later, or at once when called there; False when libobs cannot.

    The UI thread is where OBS's own dialogs read and write settings; ``obs_data`` has no lock.
    """
    if obs_queue_task is None:
        return False
    key = _UI_TASKS.add(task)
    try:
        obs_queue_task(OBS_TASK_UI, ctypes.cast(_UI_TASKS.callback, c_void_p).value, key, False)
    except BaseException:
        _UI_TASKS.discard(key)
        raise
    return True


# --- graphics context -----------------------------------------------------------------------------
obs_enter_graphics = _bind("obs_enter_graphics", None)
obs_leave_graphics = _bind("obs_leave_graphics", None)

# --- texture render targets -----------------------------------------------------------------------
gs_texrender_create = _bind("gs_texrender_create", _P, c_int, c_int)
gs_texrender_destroy = _bind("gs_texrender_destroy", None, _P)
gs_texrender_reset = _bind("gs_texrender_reset", None, _P)
gs_texrender_begin = _bind("gs_texrender_begin", c_bool, _P, c_uint32, c_uint32)
gs_texrender_end = _bind("gs_texrender_end", None, _P)
gs_texrender_get_texture = _bind("gs_texrender_get_texture", _P, _P)

# --- stage surfaces (GPU -> CPU read-back) --------------------------------------------------------
gs_stagesurface_create = _bind("gs_stagesurface_create", _P, c_uint32, c_uint32, c_int)
gs_stagesurface_destroy = _bind("gs_stagesurface_destroy", None, _P)
gs_stage_texture = _bind("gs_stage_texture", None, _P, _P)
gs_stagesurface_map = _bind("gs_stagesurface_map", c_bool, _P, POINTER(c_void_p), POINTER(c_uint32))
gs_stagesurface_unmap = _bind("gs_stagesurface_unmap", None, _P)

# --- textures (CPU -> GPU upload) -----------------------------------------------------------------
gs_texture_create = _bind("gs_texture_create", _P, c_uint32, c_uint32, c_int, c_uint32, POINTER(c_void_p), c_uint32)
gs_texture_set_image = _bind("gs_texture_set_image", None, _P, _P, c_uint32, c_bool)
gs_texture_destroy = _bind("gs_texture_destroy", None, _P)
gs_texture_create_from_file = _bind("gs_texture_create_from_file", _P, c_char_p)
gs_texture_get_width = _bind("gs_texture_get_width", c_uint32, _P)
gs_texture_get_height = _bind("gs_texture_get_height", c_uint32, _P)

# --- effects --------------------------------------------------------------------------------------
gs_effect_create_from_file = _bind("gs_effect_create_from_file", _P, c_char_p, POINTER(c_void_p))
gs_effect_destroy = _bind("gs_effect_destroy", None, _P)
gs_effect_get_param_by_name = _bind("gs_effect_get_param_by_name", _P, _P, c_char_p)
gs_effect_set_texture = _bind("gs_effect_set_texture", None, _P, _P)
gs_effect_set_texture_srgb = _bind("gs_effect_set_texture_srgb", None, _P, _P)
gs_effect_set_float = _bind("gs_effect_set_float", None, _P, c_float)
gs_effect_set_vec2 = _bind("gs_effect_set_vec2", None, _P, _P)
gs_effect_set_vec4 = _bind("gs_effect_set_vec4", None, _P, _P)
gs_effect_loop = _bind("gs_effect_loop", c_bool, _P, c_char_p)

# --- render state ---------------------------------------------------------------------------------
gs_ortho = _bind("gs_ortho", None, c_float, c_float, c_float, c_float, c_float, c_float)
gs_clear = _bind("gs_clear", None, c_uint32, _P, c_float, c_uint8)
gs_blend_state_push = _bind("gs_blend_state_push", None)
gs_blend_state_pop = _bind("gs_blend_state_pop", None)
gs_blend_function = _bind("gs_blend_function", None, c_int, c_int)
gs_blend_function_separate = _bind("gs_blend_function_separate", None, c_int, c_int, c_int, c_int)
gs_enable_framebuffer_srgb = _bind("gs_enable_framebuffer_srgb", None, c_bool)
gs_framebuffer_srgb_enabled = _bind("gs_framebuffer_srgb_enabled", c_bool)
gs_draw_sprite = _bind("gs_draw_sprite", None, _P, c_uint32, c_uint32, c_uint32)


def source_name(source: int) -> str:
    """The user-visible name of ``source`` ("" for NULL or an unnamed source)."""
    raw = obs_source_get_name(source) if source else None
    return raw.decode("utf-8", "replace") if raw else ""


class Vec2:
    """A ``struct vec2`` kept alive for libobs calls that take ``const struct vec2 *``."""

    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        self._floats = (c_float * 2)(x, y)
        self.pointer = ctypes.addressof(self._floats)

    def set(self, x: float, y: float) -> None:
        self._floats[0] = x
        self._floats[1] = y


class Vec4:
    """A ``struct vec4``: a 16-byte aligned SSE union in libobs, so the pointer handed out is aligned."""

    _ALIGNMENT = 16

    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 0.0) -> None:
        self._buffer = ctypes.create_string_buffer(4 * ctypes.sizeof(c_float) + self._ALIGNMENT)
        base = ctypes.addressof(self._buffer)
        self.pointer = (base + self._ALIGNMENT - 1) & ~(self._ALIGNMENT - 1)
        self._floats = (c_float * 4).from_address(self.pointer)
        self.set(x, y, z, w)

    def set(self, x: float, y: float, z: float, w: float) -> None:
        self._floats[:] = [x, y, z, w]
