"""Virtual camera button, hotkey and blur sizing, with stand-ins for obspython (it only exists inside OBS)."""

from __future__ import annotations

import inspect
from typing import Any, Optional

import numpy as np
import pytest

from .conftest import require_obs


class FakeFrontend:
    """The obspython calls the filter uses, recording what happened."""

    def __init__(self, output: Optional[object], active: bool = False) -> None:
        self.output, self.active = output, active
        self.calls: list[str] = []
        self.callback: Any = None
        self.settings: dict[str, Any] = {}

    def obs_frontend_get_virtualcam_output(self) -> Optional[object]:
        return self.output

    def obs_output_release(self, output: object) -> None:
        self.calls.append("release")

    def obs_frontend_virtualcam_active(self) -> bool:
        return self.active

    def obs_frontend_start_virtualcam(self) -> None:
        self.calls.append("start")

    def obs_frontend_stop_virtualcam(self) -> None:
        self.calls.append("stop")

    def obs_hotkey_register_frontend(self, name: str, description: str, callback: Any) -> Optional[int]:
        # Like obspython: anything but a plain function registers nothing.
        if not inspect.isfunction(callback):
            return None
        self.callback = callback
        return 7

    def obs_data_get_array(self, settings: dict, key: str) -> Any:
        return settings.get(key, ["empty"])

    def obs_hotkey_load(self, hotkey_id: int, bindings: Any) -> None:
        self.calls.append(f"load {hotkey_id} {bindings}")

    def obs_hotkey_save(self, hotkey_id: int) -> Any:
        return ["ctrl+b"]

    def obs_data_set_array(self, settings: dict, key: str, bindings: Any) -> None:
        settings[key] = bindings

    def obs_data_array_release(self, bindings: Any) -> None:
        pass

    def obs_hotkey_unregister(self, callback: Any) -> None:
        """Like obspython: by the registered function (an id or another function is silently ignored)."""
        self.calls.append("unregister" if callback is self.callback else f"unregister ignored {callback!r}")


@pytest.fixture(autouse=True)
def _libobs() -> None:
    require_obs()  # frontend imports libobs (for logging); it is loaded, not started


def test_virtual_camera_unavailable_says_how_to_fix_it() -> None:
    from obs_blur.obs.frontend import VIRTUALCAM_UNAVAILABLE, toggle_virtual_camera

    frontend = FakeFrontend(output=None)
    assert toggle_virtual_camera(frontend) == VIRTUALCAM_UNAVAILABLE
    assert "sudo apt install v4l2loopback-dkms" in VIRTUALCAM_UNAVAILABLE
    assert frontend.calls == []


@pytest.mark.parametrize(("active", "action"), [(False, "start"), (True, "stop")])
def test_virtual_camera_button_starts_or_stops(active: bool, action: str) -> None:
    from obs_blur.obs.frontend import toggle_virtual_camera

    frontend = FakeFrontend(output=object(), active=active)
    assert "Virtual Camera" in toggle_virtual_camera(frontend)
    assert frontend.calls == ["release", action]  # the output reference is released


def test_hotkey_registers_a_plain_function_and_keeps_its_bindings() -> None:
    from obs_blur.obs.frontend import HOTKEY_SETTING, ToggleHotkey

    presses: list[bool] = []
    frontend = FakeFrontend(output=None)
    hotkey = ToggleHotkey(frontend, lambda: presses.append(True))
    settings = {HOTKEY_SETTING: ["saved"]}
    hotkey.register(settings)
    frontend.callback(True)
    frontend.callback(False)  # the release does nothing
    hotkey.save(settings)
    hotkey.unregister()

    assert presses == [True]
    assert settings[HOTKEY_SETTING] == ["ctrl+b"]
    assert frontend.calls == ["load 7 ['saved']", "unregister"]


def test_weight_band_uniform_maps_a_probability_onto_the_weight_band() -> None:
    """The shader's two numbers take the person probability to its place in WEIGHT_BAND, as the CPU does.

    Checked from the definition of a band position, ``(p - low) / (high - low)``, for probabilities
    across and beyond the band (``refine.banded_upsample`` with ``WEIGHT_BAND``).
    """
    require_obs()  # frame_engine imports libobs; it is loaded, not started
    from obs_blur.edge_band import WEIGHT_BAND
    from obs_blur.obs.frame_engine import WEIGHT_BAND_UNIFORM

    scale, offset = WEIGHT_BAND_UNIFORM
    low, high = WEIGHT_BAND
    for probability in np.linspace(-0.2, 1.2, 29):
        assert probability * scale + offset == pytest.approx((probability - low) / (high - low), abs=1e-9)


def test_video_delay_is_the_median_of_recent_renders_and_starts_afresh() -> None:
    """One late mask does not move the lip-sync figure; a stop of the alignment forgets the old figures."""
    require_obs()  # lip_sync imports libobs; it is loaded, not started
    from obs_blur.obs.lip_sync import DELAY_WINDOW, VideoDelay, describe

    delay = VideoDelay()
    assert delay.frames() is None
    for frames in [2, 2, 3, 2, None, 1, 2]:  # None: a render without a mask, not counted
        delay.add(frames)
    assert delay.frames() == 2
    for _render in range(DELAY_WINDOW):
        delay.add(1)
    assert delay.frames() == 1  # only the recent renders count
    delay.clear()
    assert delay.frames() is None
    assert describe(False, 67).startswith("not measured yet")  # the box was ticked after the dialog opened
    assert describe(True, None).startswith("not measured yet")
    assert describe(True, 67) == "67 ms"
