"""The trampolines between libobs and Python: exceptions never reach C, are logged once, fall back safely.

Runs in the test process (libobs loaded, OBS not started), calling the C-callable trampolines the
way libobs would; blog() then prints to this process's stdout/stderr, which capfd reads.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from .conftest import require_obs

FAKE_SOURCE = 0x1000  # never dereferenced: the libobs calls that would use it are replaced
SIGNALS_OF = {FAKE_SOURCE: 0x5000}  # the source's signal handler, as obs_source_get_signal_handler gives it
connect_calls: list[tuple[Any, ...]] = []
disconnect_calls: list[tuple[Any, ...]] = []


def raise_line(method: Any) -> int:
    """Line of the raise statement in a one-statement method (its def line + 1)."""
    return inspect.getsourcelines(method)[1] + 1


class Exploding:
    """An instance whose every callback raises."""

    def update(self, settings: int) -> None:
        raise ValueError("bad update")

    def destroy(self) -> None:
        raise RuntimeError("bad destroy")

    def video_tick(self, seconds: float) -> None:
        raise ZeroDivisionError("bad tick")

    def video_render(self, effect: Optional[int]) -> None:
        raise KeyError("bad render")


class Implementation:
    """Creates ``Exploding`` instances; the type-level callbacks raise too."""

    fail_create = False

    def create(self, settings: int, source: int) -> Exploding:
        if self.fail_create:
            raise OSError("bad create")
        return Exploding()

    def get_defaults(self, settings: int) -> None:
        raise TypeError("bad defaults")

    def get_properties(self, instance: Any) -> int:
        raise AttributeError("bad properties")


@pytest.fixture
def trampolines(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, Any], list[int], Implementation]]:
    require_obs()
    import ctypes

    from obs_blur.obs import libobs, source_info

    skipped: list[int] = []
    monkeypatch.setattr(libobs, "obs_source_skip_video_filter", skipped.append)
    monkeypatch.setattr(libobs, "obs_properties_create", lambda: 0xABC)
    monkeypatch.setattr(libobs, "obs_source_get_signal_handler", lambda source: SIGNALS_OF[source])
    monkeypatch.setattr(libobs, "signal_handler_connect", lambda *args: connect_calls.append(args))
    monkeypatch.setattr(libobs, "signal_handler_disconnect", lambda *args: disconnect_calls.append(args))
    connect_calls.clear()
    disconnect_calls.clear()
    implementation = Implementation()
    kind = source_info._RegisteredKind("guard_test_filter", implementation)
    name = ctypes.create_string_buffer(b"Guard Test")
    callbacks = source_info._make_trampolines(kind, name)
    # libobs destroys an instance through its source's "destroy" signal, then frees the handle
    callbacks["destroy"] = lambda handle: source_info._on_destroy_signal(handle, None)
    yield callbacks, skipped, implementation
    source_info._REGISTRY.logged_failures.clear()


def test_failing_callbacks_return_safe_values(trampolines: tuple[dict[str, Any], list[int], Implementation]) -> None:
    callbacks, skipped, implementation = trampolines
    handle = callbacks["create"](0x2000, FAKE_SOURCE)
    assert handle

    callbacks["update"](handle, 0x2000)
    callbacks["video_tick"](handle, 0.033)
    callbacks["video_render"](handle, None)
    callbacks["get_defaults"](0x2000)
    assert callbacks["get_properties"](handle) == 0xABC  # an empty properties object, not NULL
    callbacks["destroy"](handle)
    implementation.fail_create = True
    assert callbacks["create"](0x2000, FAKE_SOURCE) is None

    assert skipped == [FAKE_SOURCE]  # the failed render passed the video through


def test_each_failure_is_logged_once_as_one_line(
    trampolines: tuple[dict[str, Any], list[int], Implementation], capfd: pytest.CaptureFixture[str]
) -> None:
    callbacks, skipped, _ = trampolines
    handle = callbacks["create"](0x2000, FAKE_SOURCE)
    for _ in range(30):
        callbacks["video_render"](handle, None)
    callbacks["destroy"](handle)

    captured = capfd.readouterr()  # libobs's default log handler prints errors to stderr
    errors = [line for line in (captured.out + captured.err).splitlines() if line.startswith("error:")]
    assert errors == [
        "error: [obs-blur] guard_test_filter.video_render failed: KeyError: 'bad render' "
        f"(test_callback_guard.py:{raise_line(Exploding.video_render)} in video_render); "
        "repeats of this error are not logged",
        "error: [obs-blur] guard_test_filter.destroy failed: RuntimeError: bad destroy "
        f"(test_callback_guard.py:{raise_line(Exploding.destroy)} in destroy); repeats of this error are not logged",
    ]
    assert len(skipped) == 30


def test_unknown_handles_are_ignored(trampolines: tuple[dict[str, Any], list[int], Implementation]) -> None:
    callbacks, skipped, _ = trampolines
    callbacks["video_render"](987654, None)
    callbacks["update"](None, 0x2000)
    callbacks["destroy"](987654)
    assert skipped == []


def test_button_clicks_reach_the_instance_and_failures_return_false(
    trampolines: tuple[dict[str, Any], list[int], Implementation], monkeypatch: pytest.MonkeyPatch
) -> None:
    from obs_blur.obs import libobs, source_info

    callbacks, _, _ = trampolines
    monkeypatch.setattr(libobs, "obs_property_name", lambda prop: b"virtualcam")
    clicked: list[str] = []
    Exploding.button_clicked = lambda self, name: clicked.append(name) or True  # type: ignore[attr-defined]
    try:
        button = source_info._make_button_trampoline(source_info._RegisteredKind("guard_test_filter", Implementation()))
        handle = callbacks["create"](0x2000, FAKE_SOURCE)
        assert button(0x3000, 0x4000, handle) is True
        assert button(0x3000, 0x4000, None) is False  # the type-level dialog: no instance
        Exploding.button_clicked = lambda self, name: 1 / 0  # type: ignore[attr-defined]
        assert button(0x3000, 0x4000, handle) is False
        callbacks["destroy"](handle)
    finally:
        del Exploding.button_clicked  # type: ignore[attr-defined]
    assert clicked == ["virtualcam"]


class Watching:
    """A filter implementation whose ``property_modified`` records its calls, or raises for "explode"."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, int]] = []

    def property_modified(self, properties: int, property_name: str, settings: int) -> bool:
        if property_name == "explode":
            raise LookupError("bad modified")
        self.calls.append((properties, property_name, settings))
        return True


def test_property_changes_reach_the_implementation_and_failures_return_false(
    trampolines: tuple[dict[str, Any], list[int], Implementation],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from obs_blur.obs import libobs, source_info

    names = {0x4000: b"mode", 0x4001: b"explode"}
    monkeypatch.setattr(libobs, "obs_property_name", names.get)
    implementation = Watching()
    modified = source_info._make_modified_trampoline(source_info._RegisteredKind("guard_test_filter", implementation))

    assert modified(0x3000, 0x4000, 0x5000) is True
    assert modified(0x3000, 0x4000, None) is False  # no settings: nothing to decide on
    assert modified(0x3000, 0x4001, 0x5000) is False
    assert modified(0x3000, 0x4001, 0x5000) is False
    assert implementation.calls == [(0x3000, "mode", 0x5000)]
    captured = capfd.readouterr()
    errors = [line for line in (captured.out + captured.err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "guard_test_filter.property_modified failed: LookupError" in errors[0], errors

    legacy = source_info._make_modified_trampoline(source_info._RegisteredKind("guard_test_filter", Implementation()))
    assert legacy(0x3000, 0x4000, 0x5000) is False  # an implementation without the method: nothing changes


def test_destroy_comes_through_the_source_signal_and_detaches_at_exit(
    trampolines: tuple[dict[str, Any], list[int], Implementation],
) -> None:
    """Each instance listens to its source's "destroy" signal; at exit the live ones stop listening.

    OBS destroys a source that something still holds only after it finalized Python; a handler
    left connected would call into a dead interpreter and crash OBS on exit.
    """
    from obs_blur.obs import libobs, source_info

    callbacks, _, _ = trampolines
    destroyed = callbacks["create"](0x2000, FAKE_SOURCE)
    leaked = callbacks["create"](0x2000, FAKE_SOURCE)
    address = source_info._destroy_signal_address()
    assert connect_calls == [(0x5000, b"destroy", address, destroyed), (0x5000, b"destroy", address, leaked)]

    callbacks["destroy"](destroyed)
    assert source_info.detach_destroy_signals() == 1
    assert disconnect_calls == [(0x5000, b"destroy", address, leaked)]
    source_info._REGISTRY.remove_instance(leaked)
    for handle in (destroyed, leaked):
        libobs.bfree(handle)  # what obs_source_info.destroy does in libobs


def test_a_filter_is_not_destroyed_while_another_thread_holds_the_live_instances(
    trampolines: tuple[dict[str, Any], list[int], Implementation],
) -> None:
    """The stats timer and the hotkey call libobs with every filter's source (ctypes frees the GIL
    meanwhile): libobs's destruction thread must not free one of them in between. The destroy
    handler waits until the holder is done, and afterwards the filter is gone from the list."""
    import threading
    import time

    from obs_blur.obs import source_info

    callbacks, _, _ = trampolines
    handle = callbacks["create"](0x2000, FAKE_SOURCE)
    destroyed = threading.Event()

    def destruction_thread() -> None:
        callbacks["destroy"](handle)
        destroyed.set()

    with source_info.live_instances_held("guard_test_filter") as instances:
        assert len(instances) == 1
        thread = threading.Thread(target=destruction_thread)
        thread.start()
        time.sleep(0.2)
        assert not destroyed.is_set()  # waiting for the holder
    assert destroyed.wait(5.0)
    thread.join()
    with source_info.live_instances_held("guard_test_filter") as instances:
        assert instances == []
