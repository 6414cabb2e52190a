"""What the filter does through OBS's frontend API (``obspython``): the virtual camera and the hotkey.

No frontend event callback: obspython registers one from its own "defer" thread, while OBS's UI
thread may be walking the same list of callbacks to announce an event, and scripts that register one
are among the ones OBS is reported to crash with at exit.

The frontend API is only reachable through ``obspython`` (the SWIG module of OBS's scripting), and
only inside OBS; the functions take the module as a parameter so tests can hand in a stand-in.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from obs_blur.obs import libobs, source_info

VIRTUALCAM_UNAVAILABLE = (
    "Virtual Camera is unavailable: on Linux install v4l2loopback (sudo apt install v4l2loopback-dkms)"
)
HOTKEY_NAME = "obs_blur.toggle_background_blur"
HOTKEY_DESCRIPTION = "Toggle Background Blur"
#: Key in the script's settings under which OBS keeps the hotkey's bindings.
HOTKEY_SETTING = "toggle_background_blur_hotkey"


def obspython() -> Optional[Any]:
    """OBS's scripting module, or None outside OBS."""
    try:
        import obspython as module  # type: ignore[import-not-found]
    except ImportError:
        return None
    return module


def toggle_virtual_camera(frontend: Optional[Any] = None) -> str:
    """Start the virtual camera, or stop it if it runs; returns the sentence for the status line.

    ``obs_frontend_get_virtualcam_output`` is NULL when OBS has no virtual camera (on Linux: the
    v4l2loopback module is missing; obs-websocket answers 604 then). Starting it anyway is a
    silent no-op, so we say why instead.
    """
    frontend = frontend if frontend is not None else obspython()
    if frontend is None:
        return "Virtual Camera can only be controlled inside OBS"
    output = frontend.obs_frontend_get_virtualcam_output()
    if output is None:
        return VIRTUALCAM_UNAVAILABLE
    frontend.obs_output_release(output)  # the call returned a new reference
    if frontend.obs_frontend_virtualcam_active():
        frontend.obs_frontend_stop_virtualcam()
        return "Virtual Camera stopped"
    frontend.obs_frontend_start_virtualcam()
    return "Virtual Camera started"


def toggle_filters(kind_id: str) -> Optional[bool]:
    """Disable every filter of ``kind_id`` if any is enabled, else enable them all; returns the new state.

    One shared state rather than flipping each filter: after a toggle they all agree.
    """
    with source_info.live_instances_held(kind_id) as instances:  # none destroyed meanwhile
        sources = [instance.source for instance in instances]
        if not sources:
            return None
        enable = not any(libobs.obs_source_enabled(source) for source in sources)
        for source in sources:
            libobs.obs_source_set_enabled(source, enable)
    return enable


class ToggleHotkey:
    """The frontend hotkey "Toggle Background Blur", its bindings kept in the script's settings."""

    def __init__(self, frontend: Any, on_press: Callable[[], None]) -> None:
        self._frontend = frontend
        self._on_press = on_press
        self.hotkey_id: Optional[int] = None
        self._callback: Optional[Callable[[bool], None]] = None  # obspython unregisters by this function

    def register(self, script_settings: Any) -> None:
        """Register with libobs and restore the bindings saved by ``save``.

        obspython silently ignores a callback that is not a plain Python function (a bound method or
        a callable object registers nothing), hence the closure.
        """
        frontend = self._frontend

        def pressed(is_pressed: bool) -> None:
            self._pressed(is_pressed)

        self._callback = pressed
        self.hotkey_id = frontend.obs_hotkey_register_frontend(HOTKEY_NAME, HOTKEY_DESCRIPTION, pressed)
        if self.hotkey_id is None:
            libobs.log(libobs.LOG_WARNING, f"hotkey '{HOTKEY_DESCRIPTION}' could not be registered")
            return
        bindings = frontend.obs_data_get_array(script_settings, HOTKEY_SETTING)
        frontend.obs_hotkey_load(self.hotkey_id, bindings)
        frontend.obs_data_array_release(bindings)

    def save(self, script_settings: Any) -> None:
        if self.hotkey_id is None:
            return
        frontend = self._frontend
        bindings = frontend.obs_hotkey_save(self.hotkey_id)
        frontend.obs_data_set_array(script_settings, HOTKEY_SETTING, bindings)
        frontend.obs_data_array_release(bindings)

    def unregister(self) -> None:
        """obspython's ``obs_hotkey_unregister`` takes the registered Python function, not the hotkey id."""
        if self._callback is not None:
            self._frontend.obs_hotkey_unregister(self._callback)
        self.hotkey_id = self._callback = None

    def _pressed(self, pressed: bool) -> None:
        """obspython calls this on the hotkey thread for press and release; act on the press only."""
        if not pressed:
            return
        try:
            self._on_press()
        except Exception as error:  # an exception here would print a traceback into the OBS log each press
            libobs.log(libobs.LOG_ERROR, f"hotkey '{HOTKEY_DESCRIPTION}' failed: {type(error).__name__}: {error}")

