"""Typed views of ``obs_data_t`` (settings) and a builder for ``obs_properties_t`` (the settings dialog).

libobs speaks bytes and raw pointers; the filter speaks ``str`` and Python values. Converting in one
place keeps encodings and NULL handling out of the filter code.

The optional bindings (groups, visibility, modified callbacks) are looked up with ``getattr``: they are
None where libobs lacks them, and absent from a libobs module that an older checkout loaded at OBS's
start, which "Reload Scripts" keeps while it re-imports this module.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Optional

from obs_blur.obs import libobs
from obs_blur.obs.filter_settings import StoredValue


def _encode(text: str) -> bytes:
    return text.encode("utf-8")


def _decode(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


class ObsData:
    """A non-owning view of an ``obs_data_t *``: libobs owns the object, we never release it."""

    def __init__(self, pointer: int) -> None:
        self.pointer = pointer

    def get_stored(self, key: str) -> StoredValue:
        """The value the user stored under ``key``, typed as stored, or None when only a default exists.

        Reading by the stored type (rather than asking for the type we want) is what lets the filter
        notice a hand-edited string where a number belongs, and repair it.
        """
        name = _encode(key)
        if not libobs.obs_data_has_user_value(self.pointer, name):
            return None
        item = ctypes.c_void_p(libobs.obs_data_item_byname(self.pointer, name))
        if not item.value:
            return None
        try:
            data_type = libobs.obs_data_item_gettype(item)
        finally:
            libobs.obs_data_item_release(ctypes.byref(item))
        if data_type == libobs.OBS_DATA_STRING:
            return self.get_string(key)
        if data_type == libobs.OBS_DATA_NUMBER:
            return float(libobs.obs_data_get_double(self.pointer, name))
        if data_type == libobs.OBS_DATA_BOOLEAN:
            return bool(libobs.obs_data_get_bool(self.pointer, name))
        return f"<obs_data type {data_type}>"  # object or array: never valid for our keys

    def get_string(self, key: str) -> str:
        return _decode(libobs.obs_data_get_string(self.pointer, _encode(key)))

    def get_int(self, key: str) -> int:
        return int(libobs.obs_data_get_int(self.pointer, _encode(key)))

    def set_string(self, key: str, value: str) -> None:
        libobs.obs_data_set_string(self.pointer, _encode(key), _encode(value))

    def set_int(self, key: str, value: int) -> None:
        libobs.obs_data_set_int(self.pointer, _encode(key), value)

    def set_bool(self, key: str, value: bool) -> None:
        libobs.obs_data_set_bool(self.pointer, _encode(key), value)

    def set_value(self, key: str, value: object) -> None:
        """Store ``value`` with the obs_data type matching its Python type (str, bool or int)."""
        if isinstance(value, str):
            self.set_string(key, value)
        elif isinstance(value, bool):
            self.set_bool(key, value)
        elif isinstance(value, int):
            self.set_int(key, value)
        else:
            raise TypeError(f"cannot store {type(value).__name__} setting {key!r}")

    def set_default_string(self, key: str, value: str) -> None:
        libobs.obs_data_set_default_string(self.pointer, _encode(key), _encode(value))

    def set_default_int(self, key: str, value: int) -> None:
        libobs.obs_data_set_default_int(self.pointer, _encode(key), value)

    def set_default_bool(self, key: str, value: bool) -> None:
        libobs.obs_data_set_default_bool(self.pointer, _encode(key), value)

    def set_default_value(self, key: str, value: object) -> None:
        """The default for ``key``, typed like ``set_value``."""
        if isinstance(value, str):
            self.set_default_string(key, value)
        elif isinstance(value, bool):
            self.set_default_bool(key, value)
        elif isinstance(value, int):
            self.set_default_int(key, value)
        else:
            raise TypeError(f"cannot store {type(value).__name__} default {key!r}")


@contextmanager
def stored_settings(source: int) -> Iterator[Optional[ObsData]]:
    """The settings of ``source`` (None where libobs gives none), released afterwards.

    Write through it on the UI thread only (see ``settings_writer``).
    """
    settings = libobs.obs_source_get_settings(source)
    try:
        yield ObsData(settings) if settings else None
    finally:
        if settings:
            libobs.obs_data_release(settings)


class Properties:
    """Builds an ``obs_properties_t *``; libobs takes ownership of ``pointer`` once it is returned to it."""

    def __init__(self) -> None:
        self.pointer: int = libobs.obs_properties_create()

    def add_string_list(self, key: str, label: str, choices: Iterable[tuple[str, str]]) -> int:
        """A drop-down whose items are ``(value, label)`` pairs; the stored value is the string."""
        prop = libobs.obs_properties_add_list(
            self.pointer, _encode(key), _encode(label), libobs.OBS_COMBO_TYPE_LIST, libobs.OBS_COMBO_FORMAT_STRING
        )
        for value, item_label in choices:
            libobs.obs_property_list_add_string(prop, _encode(item_label), _encode(value))
        return prop

    def add_int_slider(self, key: str, label: str, minimum: int, maximum: int, step: int = 1) -> int:
        return libobs.obs_properties_add_int_slider(self.pointer, _encode(key), _encode(label), minimum, maximum, step)

    def add_bool(self, key: str, label: str) -> int:
        return libobs.obs_properties_add_bool(self.pointer, _encode(key), _encode(label))

    def add_color(self, key: str, label: str) -> int:
        """A colour picker; the setting is an int 0xAABBGGRR."""
        return libobs.obs_properties_add_color(self.pointer, _encode(key), _encode(label))

    def add_file_path(self, key: str, label: str, file_filter: str) -> int:
        """A file chooser; ``file_filter`` as Qt takes it, e.g. "Images (*.png *.jpg);;All files (*.*)"."""
        return libobs.obs_properties_add_path(
            self.pointer, _encode(key), _encode(label), libobs.OBS_PATH_FILE, _encode(file_filter), None
        )

    def add_button(self, key: str, text: str, callback_pointer: int) -> int:
        """A push button; ``callback_pointer`` is an ``obs_property_clicked_t`` kept alive by the caller."""
        return libobs.obs_properties_add_button(self.pointer, _encode(key), _encode(text), callback_pointer)

    def add_info_text(self, key: str, label: str) -> int:
        """A read-only ``label: value`` row whose value is the string setting under ``key``.

        OBS shows an info text's description as the row label and the setting as its value, so the
        value must live in the settings (with a default until the first write).
        """
        return libobs.obs_properties_add_text(self.pointer, _encode(key), _encode(label), libobs.OBS_TEXT_INFO)

    def add_group(self, key: str, label: str) -> Properties:
        """A titled group; properties added to the returned builder appear in it.

        Without groups in libobs (or when libobs refuses this one) the returned builder is this one,
        so the properties still appear, ungrouped.
        """
        add_group = getattr(libobs, "obs_properties_add_group", None)
        if add_group is None:
            return self
        content = Properties()
        group = add_group(self.pointer, _encode(key), _encode(label), libobs.OBS_GROUP_NORMAL, content.pointer)
        if not group:  # libobs did not take ownership
            libobs.obs_properties_destroy(content.pointer)
            return self
        return content

    @staticmethod
    def set_long_description(prop: int, text: str) -> None:
        """The tooltip of ``prop``."""
        libobs.obs_property_set_long_description(prop, _encode(text))

    @staticmethod
    def set_modified_callback(prop: int, callback_pointer: Optional[int]) -> bool:
        """Call ``callback_pointer`` (an ``obs_property_modified_t`` kept alive by the caller) when ``prop`` changes.

        Returns False when there is no callback or libobs cannot take one: the dialog then stays static.
        """
        set_callback = getattr(libobs, "obs_property_set_modified_callback", None)
        if not callback_pointer or set_callback is None:
            return False
        set_callback(prop, callback_pointer)
        return True

    @staticmethod
    def set_visible(properties: int, key: str, visible: bool) -> bool:
        """Show or hide the property ``key`` of ``properties`` (groups searched too); False when not possible."""
        find = getattr(libobs, "obs_properties_get", None)
        set_visible = getattr(libobs, "obs_property_set_visible", None)
        prop = find(properties, _encode(key)) if find is not None and set_visible is not None else None
        if not prop:
            return False
        set_visible(prop, visible)
        return True
