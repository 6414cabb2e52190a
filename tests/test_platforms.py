"""The runtime's OS facts: one module per OS, picked by ``sys.platform``, read by paths, libobs and the worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from obs_blur import paths, platforms
from obs_blur.worker.interpreter import interpreter_candidates

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("sys_platform", "name"),
    [("linux", "linux"), ("win32", "windows"), ("cygwin", "linux"), ("darwin", "macos"), ("freebsd14", "linux")],
)
def test_sys_platform_picks_the_module(sys_platform: str, name: str) -> None:
    assert platforms.current(sys_platform) is platforms.named(name)
    assert platforms.named(name).name == name


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: linux, macos, windows"):
        platforms.named("beos")


def test_the_user_data_folders_follow_each_os(tmp_path: Path) -> None:
    env = {"LOCALAPPDATA": str(tmp_path / "L"), "XDG_DATA_HOME": str(tmp_path / "X")}
    assert paths.user_data_base("windows", env, tmp_path) == tmp_path / "L"
    assert paths.user_data_base("windows", {}, tmp_path) == tmp_path / "AppData" / "Local"
    assert paths.user_data_base("linux", env, tmp_path) == tmp_path / "X"
    assert paths.user_data_base("linux", {}, tmp_path) == tmp_path / ".local" / "share"
    assert paths.user_data_base("macos", env, tmp_path) == tmp_path / "Library" / "Application Support"


def test_caches_live_in_the_data_folder_only_on_windows(tmp_path: Path) -> None:
    assert platforms.named("windows").user_cache_base({}, tmp_path) is None
    assert platforms.named("macos").user_cache_base({}, tmp_path) == tmp_path / "Library" / "Caches"
    assert platforms.named("linux").user_cache_base({"XDG_CACHE_HOME": "/c"}, tmp_path) == Path("/c")


def test_the_cache_folder_asks_the_current_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBS_BLUR_CACHE", raising=False)
    monkeypatch.setenv("OBS_BLUR_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(paths, "current_system", lambda: "windows")
    assert paths.user_cache_dir() == tmp_path / "data" / "cache"


def test_os_facts_the_runtime_branches_on() -> None:
    linux, windows, macos = (platforms.named(name) for name in ("linux", "windows", "macos"))
    assert [linux.stderr_is_read, windows.stderr_is_read, macos.stderr_is_read] == [True, False, False]
    assert [linux.posix, windows.posix, macos.posix] == [True, False, True]
    assert windows.libobs_names == ("obs.dll",)
    assert linux.libobs_names[0] == "libobs.so.0"
    assert macos.libobs_names[0].startswith("@rpath/libobs.framework")


def test_a_virtual_environment_comes_before_the_installation() -> None:
    assert interpreter_candidates("/venv", "/usr", "/usr", (3, 12), "linux") == [
        Path("/venv/bin/python3.12"), Path("/usr/bin/python3.12"), Path("/usr/bin/python3")
    ]
    assert interpreter_candidates("C:/venv", "C:/Py", "C:/Py", (3, 12), "win32") == [
        Path("C:/venv/Scripts/python.exe"), Path("C:/Py/python.exe")
    ]


def test_windows_skips_the_posix_permission_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "pydeps"
    folder.mkdir()
    folder.chmod(0o777)
    assert paths.unsafe_code_folder(folder)
    monkeypatch.setattr(paths, "current_system", lambda: "windows")
    assert paths.unsafe_code_folder(folder) is None


def test_the_platforms_load_with_the_standard_library_only() -> None:
    """``install.py`` and the OBS script read them before any third-party package is importable."""
    program = (
        "import sys; import obs_blur.paths; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'cv2', 'onnxruntime'))))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); {program}"],
        capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == ""


def test_a_missing_worker_module_is_named_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The filter names what to install before it starts a worker; the modules are never imported for it."""
    from obs_blur.worker import interpreter

    assert interpreter.missing_worker_module() is None  # the test environment has all three
    absent = {"cv2"}
    real_find_spec = interpreter.importlib.util.find_spec
    monkeypatch.setattr(
        interpreter.importlib.util, "find_spec", lambda name: None if name in absent else real_find_spec(name)
    )
    missing = interpreter.missing_worker_module()
    assert isinstance(missing, ModuleNotFoundError) and missing.name == "cv2"
    assert str(missing) == "No module named 'cv2'"
