"""The settings dialog and defaults the filter gives libobs, read back through libobs's own accessors.

obs-websocket 5.1 cannot list a filter's properties, so this runs in the test process: libobs is
loaded (not started), which is enough to build and inspect properties and settings objects.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char_p, c_int, c_size_t, c_void_p
from typing import Any

import pytest

from obs_blur.obs.filter_settings import MODES, read_model_choices

from .conftest import require_obs


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

    @staticmethod
    def _bind(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, list(argtypes)
        return function

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
        assert reader.list_items(reader.get(props, b"mode")) == list(MODES.items())
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
