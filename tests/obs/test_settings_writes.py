"""The filter writes its settings only on the UI thread: ``update`` reads, and a UI task writes the repairs.

Runs in the test process with libobs loaded (not started): the settings are real ``obs_data`` objects,
the filter's source is a stand-in, and ``obs_queue_task`` is replaced by a recorder whose tasks the
test runs itself, through the C callback libobs would call. Every ``obs_data_set_*`` the filter makes
is recorded with its thread. The same in a running OBS: tests/obs/test_dialog_and_status.py.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from ctypes import c_char_p, c_int64, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from obs_blur.obs.filter_settings import mode_settings_shown

from .conftest import require_obs

FAKE_SOURCE = 0x1000  # never dereferenced: every libobs call that would take it is replaced
SETTERS = ("obs_data_set_int", "obs_data_set_double", "obs_data_set_bool", "obs_data_set_string")


@dataclass
class FakeObs:
    """What the filter asked of libobs: settings writes (key, thread), queued tasks, references taken and dropped."""

    settings: int
    writes: list[tuple[str, int]] = field(default_factory=list)
    tasks: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (type, callback, param, wait)
    refs: list[int] = field(default_factory=list)
    releases: list[int] = field(default_factory=list)
    source_alive: bool = True

    def run_tasks(self) -> None:
        """Run the queued tasks on this thread, through the C function pointer as libobs would."""
        from obs_blur.obs import libobs

        tasks, self.tasks = self.tasks, []
        for _type, callback, param, _wait in tasks:
            ctypes.cast(callback, libobs.TaskCallback)(param)


class Lib:
    """libobs functions the filter never needs, bound here to prepare and read settings."""

    def __init__(self) -> None:
        from obs_blur.obs import libobs

        lib = libobs.load_libobs()
        self.create = self._bind(lib, "obs_data_create", c_void_p)
        self.addref = self._bind(lib, "obs_data_addref", None, c_void_p)
        self.release = self._bind(lib, "obs_data_release", None, c_void_p)
        self.set_string = self._bind(lib, "obs_data_set_string", None, c_void_p, c_char_p, c_char_p)
        self.set_int = self._bind(lib, "obs_data_set_int", None, c_void_p, c_char_p, c_int64)
        self.get_int = self._bind(lib, "obs_data_get_int", c_int64, c_void_p, c_char_p)
        self.get_string = self._bind(lib, "obs_data_get_string", c_char_p, c_void_p, c_char_p)

    @staticmethod
    def _bind(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, list(argtypes)
        return function


@pytest.fixture(scope="module")
def lib() -> Lib:
    require_obs()
    return Lib()


def recording(fake: FakeObs, setter: Callable[..., None]) -> Callable[..., None]:
    def record(data: int, key: bytes, value: Any) -> None:
        fake.writes.append((key.decode(), threading.get_ident()))
        setter(data, key, value)

    return record


@pytest.fixture
def fake(lib: Lib, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeObs]:
    """Invalid stored settings (blur strength "50%", device "quantum") of a stand-in filter source."""
    from obs_blur.obs import libobs

    fake = FakeObs(lib.create())
    lib.set_string(fake.settings, b"blur_strength", b"50%")
    lib.set_string(fake.settings, b"device", b"quantum")
    for name in SETTERS:
        monkeypatch.setattr(libobs, name, recording(fake, getattr(libobs, name)))

    def get_settings(source: int) -> int:
        assert source == FAKE_SOURCE
        lib.addref(fake.settings)
        return fake.settings

    def get_ref(source: int) -> int:
        fake.refs.append(source)
        return source if fake.source_alive else 0

    monkeypatch.setattr(libobs, "obs_source_get_settings", get_settings)
    monkeypatch.setattr(libobs, "obs_source_get_ref", get_ref)
    monkeypatch.setattr(libobs, "obs_source_release", fake.releases.append)
    monkeypatch.setattr(libobs, "obs_queue_task", lambda *task: fake.tasks.append(task))
    monkeypatch.setattr(libobs, "source_name", lambda source: "Test filter")
    yield fake
    lib.release(fake.settings)


def logged(capfd: pytest.CaptureFixture[str]) -> str:
    """What libobs's default log handler printed (errors to stderr, the rest to stdout)."""
    captured = capfd.readouterr()
    return captured.out + captured.err


def update_on_another_thread(instance: Any, settings: int) -> int:
    """Run ``instance.update`` as libobs does for filters: on a thread of its own (the graphics thread)."""
    thread = threading.Thread(target=instance.update, args=(settings,))
    thread.start()
    thread.join()
    return thread.ident or 0


def test_update_only_reads_and_the_ui_task_writes_the_repairs(
    fake: FakeObs, lib: Lib, capfd: pytest.CaptureFixture[str]
) -> None:
    from obs_blur.obs import libobs
    from obs_blur.obs.filter import BackgroundBlurFilter

    instance = BackgroundBlurFilter(FAKE_SOURCE)
    update_on_another_thread(instance, fake.settings)

    assert fake.writes == []  # nothing written where update runs
    assert (instance.settings.blur_strength, instance.settings.device) == (50, "auto")  # repaired, applied at once
    assert [(task_type, wait) for task_type, _, _, wait in fake.tasks] == [(libobs.OBS_TASK_UI, False)]
    assert fake.refs == [FAKE_SOURCE] and fake.releases == []  # the task holds the filter alive

    lib.set_int(fake.settings, b"blur_strength", 70)  # a client stores a valid value before the task runs
    fake.run_tasks()  # the UI thread (this one)

    assert fake.writes == [("device", threading.get_ident())]  # only what is still invalid, on the UI thread
    assert lib.get_int(fake.settings, b"blur_strength") == 70
    assert lib.get_string(fake.settings, b"device") == b"auto"
    assert fake.releases == [FAKE_SOURCE]
    lines = [line for line in logged(capfd).splitlines() if "repaired invalid settings" in line]
    assert lines == ["warning: [obs-blur] filter 'Test filter': repaired invalid settings: device 'quantum' -> 'auto'"]


def test_two_updates_before_the_task_runs_repair_and_log_once(fake: FakeObs, capfd: pytest.CaptureFixture[str]) -> None:
    from obs_blur.obs.filter import BackgroundBlurFilter

    instance = BackgroundBlurFilter(FAKE_SOURCE)
    update_on_another_thread(instance, fake.settings)
    update_on_another_thread(instance, fake.settings)
    fake.run_tasks()

    assert sorted(key for key, _ in fake.writes) == ["blur_strength", "device"]
    assert fake.refs == fake.releases == [FAKE_SOURCE, FAKE_SOURCE]
    assert logged(capfd).count("repaired invalid settings") == 1


def test_a_filter_being_destroyed_queues_nothing(fake: FakeObs) -> None:
    from obs_blur.obs.filter import BackgroundBlurFilter

    fake.source_alive = False  # obs_source_get_ref answers NULL once the last reference is gone
    instance = BackgroundBlurFilter(FAKE_SOURCE)
    update_on_another_thread(instance, fake.settings)

    assert fake.tasks == [] and fake.writes == [] and fake.releases == []
    assert instance.settings.blur_strength == 50


def test_without_a_task_queue_the_repairs_apply_unwritten(fake: FakeObs, monkeypatch: pytest.MonkeyPatch) -> None:
    from obs_blur.obs import libobs
    from obs_blur.obs.filter import BackgroundBlurFilter

    monkeypatch.setattr(libobs, "obs_queue_task", None)  # a libobs without obs_queue_task
    instance = BackgroundBlurFilter(FAKE_SOURCE)
    update_on_another_thread(instance, fake.settings)

    assert fake.writes == []
    assert (instance.settings.blur_strength, instance.settings.device) == (50, "auto")
    assert fake.refs == fake.releases  # the reference taken for the task is given back


def test_a_failing_ui_task_is_logged_and_runs_once(fake: FakeObs, capfd: pytest.CaptureFixture[str]) -> None:
    from obs_blur.obs import libobs

    runs: list[int] = []

    def failing() -> None:
        runs.append(1)
        raise ValueError("task broke")

    assert libobs.queue_ui_task(failing) is True
    (task,) = fake.tasks
    fake.tasks = [task, task]  # libobs calling the same task twice finds it gone the second time
    fake.run_tasks()

    assert runs == [1]
    assert "error: [obs-blur] a UI task failed: ValueError: task broke" in logged(capfd)


def test_each_mode_has_its_own_settings_and_an_unknown_mode_shows_the_default() -> None:
    hidden = {"blur_strength": False, "lens_depth": False, "bg_color": False, "bg_image": False}
    assert mode_settings_shown("color") == {**hidden, "bg_color": True}
    assert mode_settings_shown("mask") == hidden
    assert mode_settings_shown("lens") == {**hidden, "blur_strength": True, "lens_depth": True}
    assert mode_settings_shown(3) == mode_settings_shown("Blur") == mode_settings_shown("blur")
