"""The settings dialog and defaults the filter gives libobs, read back through libobs's own accessors.

obs-websocket 5.1 cannot list a filter's properties, so this runs in the test process: libobs is
loaded (not started), which is enough to build and inspect properties and settings objects, and to
run the mode list's modified callback as the dialog does (``obs_property_modified``). The same in a
running OBS: tests/obs/test_dialog_and_status.py.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from ctypes import POINTER, c_bool, c_char_p, c_int, c_size_t, c_void_p
from typing import Any

import pytest

from obs_blur.modes import MODE_NAMES, MODES
from obs_blur.segmentation.manifest import read_model_choices

from .conftest import require_obs
from .filter_checks import MODE_SETTING

OBS_PROPERTY_GROUP = 12  # enum obs_property_type (obs-properties.h)
#: The Advanced group as built, before libobs applies settings (the lip-sync button needs a registered kind).
LIP_SYNC = ["video_delay", "lipsync_audio"]
ADVANCED = ["edge_softness", "smoothing", "align_video", *LIP_SYNC, "device"]


class Reader:
    """libobs accessors the filter itself never needs, bound here for inspection only."""

    def __init__(self) -> None:
        from obs_blur.obs import libobs

        lib = libobs.load_libobs()
        self.libobs = libobs
        self.get = self._bind(lib, "obs_properties_get", c_void_p, c_void_p, c_char_p)
        self.description = self._bind(lib, "obs_property_description", c_char_p, c_void_p)
        self.item_count = self._bind(lib, "obs_property_list_item_count", c_size_t, c_void_p)
        self.item_name = self._bind(lib, "obs_property_list_item_name", c_char_p, c_void_p, c_size_t)
        self.item_string = self._bind(lib, "obs_property_list_item_string", c_char_p, c_void_p, c_size_t)
        self.int_min = self._bind(lib, "obs_property_int_min", c_int, c_void_p)
        self.int_max = self._bind(lib, "obs_property_int_max", c_int, c_void_p)
        self.data_create = self._bind(lib, "obs_data_create", c_void_p)
        self.data_release = self._bind(lib, "obs_data_release", None, c_void_p)
        self.data_set_string = self._bind(lib, "obs_data_set_string", None, c_void_p, c_char_p, c_char_p)
        self.data_set_bool = self._bind(lib, "obs_data_set_bool", None, c_void_p, c_char_p, c_bool)
        self.first = self._bind(lib, "obs_properties_first", c_void_p, c_void_p)
        self.next = self._bind(lib, "obs_property_next", c_bool, POINTER(c_void_p))
        self.name = self._bind(lib, "obs_property_name", c_char_p, c_void_p)
        self.visible = self._bind(lib, "obs_property_visible", c_bool, c_void_p)
        self.type = self._bind(lib, "obs_property_get_type", c_int, c_void_p)
        self.group_content = self._bind(lib, "obs_property_group_content", c_void_p, c_void_p)
        self.modified = self._bind(lib, "obs_property_modified", c_bool, c_void_p, c_void_p)

    @staticmethod
    def _bind(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, list(argtypes)
        return function

    def names(self, props: int, only_visible: bool = False) -> list[str]:
        """Property names in dialog order, each group followed by its content."""
        names: list[str] = []
        prop = c_void_p(self.first(props))
        while prop.value:
            if self.visible(prop) or not only_visible:
                names.append(self.name(prop).decode())
                if self.type(prop) == OBS_PROPERTY_GROUP:
                    names.extend(self.names(self.group_content(prop), only_visible))
            if not self.next(ctypes.byref(prop)):
                break
        return names

    def list_items(self, prop: int) -> list[tuple[str, str]]:
        return [
            (self.item_string(prop, i).decode(), self.item_name(prop, i).decode()) for i in range(self.item_count(prop))
        ]


@pytest.fixture(scope="module")
def reader() -> Reader:
    require_obs()
    return Reader()


def test_dialog_offers_modes_models_strength_and_status(reader: Reader) -> None:
    from obs_blur.obs.filter import BackgroundBlurFilter

    props = BackgroundBlurFilter.get_properties(None)
    try:
        assert reader.list_items(reader.get(props, b"mode")) == [(mode.name, mode.label) for mode in MODES]
        models = read_model_choices()
        assert [value for value, _ in reader.list_items(reader.get(props, b"model"))] == list(models.names)
        strength = reader.get(props, b"blur_strength")
        assert (reader.int_min(strength), reader.int_max(strength)) == (0, 100)
        for slider in (b"edge_softness", b"smoothing"):
            assert (reader.int_min(reader.get(props, slider)), reader.int_max(reader.get(props, slider))) == (0, 100)
        assert [value for value, _ in reader.list_items(reader.get(props, b"device"))] == ["auto", "gpu", "cpu"]
        for key in (b"bg_color", b"bg_image", b"align_video"):
            assert reader.description(reader.get(props, key)), key
        assert reader.description(reader.get(props, b"status"))
    finally:
        reader.libobs.obs_properties_destroy(props)


def test_defaults(reader: Reader) -> None:
    from obs_blur.obs.data import ObsData
    from obs_blur.obs.filter import BackgroundBlurFilter

    settings = reader.data_create()
    try:
        BackgroundBlurFilter.get_defaults(settings)
        data = ObsData(settings)
        assert data.get_string("mode") == "blur"
        assert data.get_string("model") == read_model_choices().default
        assert data.get_int("blur_strength") == 50
        assert data.get_stored("blur_strength") is None  # defaults are not user values
        sliders = (data.get_int("edge_softness"), data.get_int("smoothing"))
        assert (data.get_int("bg_color"), *sliders) == (0xFF40B100, 35, 80)
        assert data.get_string("device") == "auto"
    finally:
        reader.data_release(settings)


@pytest.fixture
def with_mode_callback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The filter's modified callback as if the filter type were registered (libobs is not started here)."""
    from obs_blur.obs import source_info
    from obs_blur.obs.filter import KIND_ID, BackgroundBlurFilter

    trampoline = source_info._make_modified_trampoline(source_info._RegisteredKind(KIND_ID, BackgroundBlurFilter))
    address = ctypes.cast(trampoline, c_void_p).value
    monkeypatch.setattr(source_info, "modified_callback", lambda kind: address if kind == KIND_ID else None)
    yield
    del trampoline


def test_advanced_settings_sit_in_a_group(reader: Reader) -> None:
    from obs_blur.obs.filter import BackgroundBlurFilter

    props = BackgroundBlurFilter.get_properties(None)
    try:
        main = ["mode", "model", "blur_strength", "lens_depth", "bg_color", "bg_image"]
        assert reader.names(props) == [*main, "advanced", *ADVANCED, "status"]  # no button: nothing registered
        group = reader.get(props, b"advanced")
        assert reader.type(group) == OBS_PROPERTY_GROUP
        assert reader.description(group) == b"Advanced"
        assert reader.names(reader.group_content(group)) == ADVANCED
    finally:
        reader.libobs.obs_properties_destroy(props)


def test_picking_a_mode_shows_only_its_settings(reader: Reader, with_mode_callback: None) -> None:
    from obs_blur.obs.filter import BackgroundBlurFilter

    props = BackgroundBlurFilter.get_properties(None)
    settings = reader.data_create()
    try:
        for mode in (*MODE_NAMES, "no such mode"):
            reader.data_set_string(settings, b"mode", mode.encode())
            assert reader.modified(reader.get(props, b"mode"), settings) is True  # the dialog redraws
            shown = MODE_SETTING.get(mode, MODE_SETTING["blur"])  # an unknown mode applies as blur
            assert reader.names(props, only_visible=True) == ["mode", "model", *shown, "advanced", *ADVANCED, "status"]
        assert reader.modified(reader.get(props, b"model"), settings) is False  # no callback: nothing to redraw
    finally:
        reader.data_release(settings)
        reader.libobs.obs_properties_destroy(props)


def test_the_lip_sync_rows_show_only_while_the_video_is_delayed(reader: Reader, with_mode_callback: None) -> None:
    """The alignment's modified callback shows the video delay and the audio list with it (the button too, in OBS)."""
    from obs_blur.obs.filter import BackgroundBlurFilter

    props = BackgroundBlurFilter.get_properties(None)
    settings = reader.data_create()
    try:
        assert reader.list_items(reader.get(props, b"lipsync_audio")) == [("", "(none)")]  # OBS not started: no sources
        for aligned in (False, True, False):
            reader.data_set_bool(settings, b"align_video", aligned)
            assert reader.modified(reader.get(props, b"align_video"), settings) is True
            advanced = reader.names(reader.group_content(reader.get(props, b"advanced")), only_visible=True)
            expected = ADVANCED if aligned else [name for name in ADVANCED if name not in LIP_SYNC]
            assert advanced == expected, aligned
    finally:
        reader.data_release(settings)
        reader.libobs.obs_properties_destroy(props)


def test_a_libobs_without_groups_or_modified_callbacks_shows_every_setting(
    reader: Reader, with_mode_callback: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from obs_blur.obs import libobs
    from obs_blur.obs.filter import BackgroundBlurFilter

    assert libobs._bind_optional("obs_no_such_function", "nothing is missed", None) is None
    captured = capfd.readouterr()
    assert f"libobs {libobs.version_string()} has no obs_no_such_function: nothing is missed" in captured.out
    for name in ("obs_properties_add_group", "obs_property_set_modified_callback", "obs_property_set_visible"):
        monkeypatch.setattr(libobs, name, None)

    props = BackgroundBlurFilter.get_properties(None)
    settings = reader.data_create()
    try:
        reader.data_set_string(settings, b"mode", b"color")
        assert reader.modified(reader.get(props, b"mode"), settings) is False  # no callback was set
        main = ["mode", "model", "blur_strength", "lens_depth", "bg_color", "bg_image"]
        assert reader.names(props, only_visible=True) == [*main, *ADVANCED, "status"]
    finally:
        reader.data_release(settings)
        reader.libobs.obs_properties_destroy(props)
