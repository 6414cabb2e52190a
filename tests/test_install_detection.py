"""install.py's detection, as pure functions over fixture folder layouts and ini files: no OBS needed.

Windows and macOS cannot run here, so their layouts (Program Files, OBS.app, the Python folder OBS
loads from, global.ini/user.ini) are built in a temporary folder and the interpreter probe is faked.
OBS's config folders come per OBS version from tests/fixtures/obs_config (see its README).
"""

from __future__ import annotations

import json
import plistlib
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from obs.script_modules import load_installer

REPO_ROOT = Path(__file__).resolve().parents[1]
OBS_CONFIGS = REPO_ROOT / "tests" / "fixtures" / "obs_config"


installer = load_installer()
platforms = installer.platforms


def touch(path: Path, content: str | bytes = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def fake_probe(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Interpreters "run" without running: the version comes from the path (python3.12 -> 3.12)."""
    probed: list[Path] = []

    def probe(executable: Path) -> tuple[tuple[int, int], str]:
        probed.append(executable)
        digits = "".join(ch for ch in executable.parent.name + executable.name if ch.isdigit())
        minor = int(digits[1:3]) if digits.startswith("3") else 12
        return (3, minor), "windows-amd64" if executable.suffix == ".exe" else "macos-arm64"

    monkeypatch.setattr(installer.obs_python, "probe_interpreter", probe)
    return probed


def obs_config(name: str, tmp_path: Path) -> Path:
    """A copy of the OBS config fixture ``name`` (tests/fixtures/obs_config), safe to change."""
    return Path(shutil.copytree(OBS_CONFIGS / name, tmp_path / name / "obs-studio"))


def set_python_folder(config: Path, folder: Path) -> None:
    """Point the fixture's [Python] Path64bit (wherever that OBS version keeps it) at ``folder``."""
    for ini in (config / "user.ini", config / "global.ini"):
        if ini.is_file() and "Path64bit=" in ini.read_text(encoding="utf-8-sig"):
            text = ini.read_bytes().decode("utf-8")
            ini.write_bytes(re.sub(r"Path64bit=.*", lambda _: f"Path64bit={folder.as_posix()}", text).encode())
            return
    raise AssertionError(f"{config} has no [Python] Path64bit")


def fake_obs64_exe(path: Path, version: tuple[int, int, int]) -> Path:
    """An obs64.exe whose version resource says ``version`` (VS_FIXEDFILEINFO), after a decoy signature."""
    major, minor, patch = version
    decoy = struct.pack("<III", 0xFEEF04BD, 0x12345678, 0)
    info = struct.pack("<IIIIII", 0xFEEF04BD, 0x00010000, major << 16 | minor, patch << 16,
                       major << 16 | minor, patch << 16)
    return touch(path, b"MZ\x90\x00" + b"\0" * 120 + decoy + b"\0" * 64 + info + b"\0" * 32)


def fake_obs_app(root: Path, version: str, architectures: tuple[int, ...] = ()) -> Path:
    """OBS.app with an Info.plist naming ``version`` and an executable of the given Mach-O CPU types."""
    app = root / "Applications" / "OBS.app"
    touch(app / "Contents" / "Info.plist", plistlib.dumps({"CFBundleShortVersionString": version,
                                                           "CFBundleExecutable": "OBS"}))
    if len(architectures) == 1:
        touch(app / "Contents" / "MacOS" / "OBS", struct.pack("<Ii", 0xFEEDFACF, architectures[0]) + b"\0" * 24)
    elif architectures:
        slices = b"".join(struct.pack(">iiIII", cpu, 0, 16384 * (i + 1), 4096, 14)
                          for i, cpu in enumerate(architectures))
        touch(app / "Contents" / "MacOS" / "OBS", struct.pack(">II", 0xCAFEBABE, len(architectures)) + slices)
    return app


ARM64, X86_64 = 0x0100000C, 0x01000007


# --- Windows ---------------------------------------------------------------------------------------
def test_windows_finds_obs_in_program_files_and_prefers_the_registry(tmp_path: Path) -> None:
    program_files = tmp_path / "Program Files"
    touch(program_files / "obs-studio" / "bin" / "64bit" / "obs64.exe")
    registry = tmp_path / "D" / "OBS"
    env = {"ProgramFiles": str(program_files)}

    assert platforms.windows.obs_folder(env, None) == program_files / "obs-studio"
    assert platforms.windows.obs_folder(env, str(registry)) == program_files / "obs-studio"  # registry stale
    touch(registry / "bin" / "64bit" / "obs64.exe")
    assert platforms.windows.obs_folder(env, str(registry)) == registry
    assert platforms.windows.obs_folder({}, None) is None


def test_windows_config_folder_is_under_appdata(tmp_path: Path) -> None:
    env = {"APPDATA": str(tmp_path / "Roaming")}
    assert installer.obs_config.obs_config_dir("windows", env, tmp_path) == tmp_path / "Roaming" / "obs-studio"
    local_app_data = {"LOCALAPPDATA": str(tmp_path / "L")}
    assert installer.repo.paths.user_data_base("windows", local_app_data, tmp_path) == tmp_path / "L"


def test_windows_python_from_global_ini_as_obs_loads_it(tmp_path: Path, fake_probe: list[Path]) -> None:
    """OBS searches python312.dll down to python36.dll in Path64bit: the newest there wins."""
    python_folder = tmp_path / "Python312"
    touch(python_folder / "python311.dll")
    touch(python_folder / "python312.dll")
    touch(python_folder / "python.exe")
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"\ufeff[General]\nName=x%y\n\n[Python]\nPath64bit={python_folder.as_posix()}\n")

    python = platforms.configured_python.find_obs_python("windows", config)

    assert python.executable == python_folder / "python.exe"
    assert python.version == (3, 12) and python.tag == "cp312"
    assert "Path64bit" in python.found_by and str(config / "global.ini") in python.found_by
    assert fake_probe == [python_folder / "python.exe"]


def test_user_ini_of_obs_31_wins_over_global_ini(tmp_path: Path, fake_probe: list[Path]) -> None:
    old, new = tmp_path / "Python311", tmp_path / "Python312"
    touch(old / "python311.dll")
    touch(new / "python312.dll")
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={old}\n")
    touch(config / "user.ini", f"[Python]\nPath64bit={new}\n")

    assert platforms.configured_python.find_obs_python("windows", config).version == (3, 12)


def test_windows_without_python_configured_says_what_to_click(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", "[General]\nFirstRun=true\n")

    with pytest.raises(installer.common.InstallError) as raised:
        platforms.configured_python.find_obs_python("windows", config)

    message = str(raised.value)
    assert "no Python configured" in message
    assert "Tools > Scripts > Python Settings" in message
    assert "3.9-3.12" in message and "64-bit" in message and "python312.dll" in message


def test_windows_python_folder_without_a_loadable_python(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={tmp_path / 'Empty'}\n")
    with pytest.raises(installer.common.InstallError, match="holds no Python OBS can load"):
        platforms.configured_python.find_obs_python("windows", config)


def test_a_python_obs_loads_but_obs_blur_cannot_use_is_refused(tmp_path: Path, fake_probe: list[Path]) -> None:
    touch(tmp_path / "Python36" / "python36.dll")
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={tmp_path / 'Python36'}\n")
    with pytest.raises(installer.common.InstallError, match=r"3\.6 .*too old for obs-blur"):
        platforms.configured_python.find_obs_python("windows", config)
    assert fake_probe == []


def test_python_newer_than_obs_loads_is_not_picked(tmp_path: Path) -> None:
    """OBS 30.1-32.2 stop at 3.12: a folder with only python313.dll is one OBS cannot load."""
    touch(tmp_path / "Python313" / "python313.dll")
    assert platforms.configured_python.python_in_obs_folder(tmp_path / "Python313", "windows") is None


# --- macOS -----------------------------------------------------------------------------------------
def test_macos_finds_obs_app_and_its_config(tmp_path: Path) -> None:
    (tmp_path / "Applications" / "OBS.app").mkdir(parents=True)
    home = tmp_path / "Users" / "me"
    assert platforms.macos.obs_app(tmp_path, home) == tmp_path / "Applications" / "OBS.app"
    assert platforms.macos.obs_app(tmp_path / "elsewhere", home) is None
    assert installer.obs_config.obs_config_dir("macos", {}, home) == \
        home / "Library" / "Application Support" / "obs-studio"


def test_macos_python_from_the_framework_folder(tmp_path: Path, fake_probe: list[Path]) -> None:
    frameworks = tmp_path / "Library" / "Frameworks"
    version = frameworks / "Python.framework" / "Versions" / "3.11"
    touch(version / "lib" / "libpython3.11.dylib")
    config = tmp_path / "Library" / "Application Support" / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={frameworks}\n")

    python = platforms.configured_python.find_obs_python("macos", config)

    assert python.executable == version / "bin" / "python3.11"
    assert python.version == (3, 11)


def test_macos_without_python_configured_points_at_the_python_org_folder(tmp_path: Path) -> None:
    with pytest.raises(installer.common.InstallError) as raised:
        platforms.configured_python.find_obs_python("macos", tmp_path / "obs-studio")
    assert "/Library/Frameworks" in str(raised.value)
    assert "Tools > Scripts > Python Settings" in str(raised.value)


# --- the OBS version, and the Python it loads -------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "newest", "known"),
    [
        ((27, 2, 4), (3, 12), False),
        ((28, 0, 0), (3, 10), True),
        ((29, 0, 2), (3, 10), True),
        ((29, 1, 3), (3, 11), True),
        ((30, 0, 2), (3, 11), True),
        ((30, 1, 0), (3, 12), True),
        ((30, 2, 3), (3, 12), True),
        ((31, 1, 2), (3, 12), True),
        ((32, 2, 2), (3, 12), True),
        ((33, 0, 0), (3, 12), True),
        (None, (3, 12), False),
    ],
)
def test_the_pythons_each_obs_version_loads(version: tuple[int, int, int] | None, newest: tuple[int, int],
                                            known: bool) -> None:
    """PY_MINOR_VERSION_MAX per tag of obs-scripting-python-import.c; every version searches down to 3.6."""
    release = installer.obs_versions.ObsRelease(version, "test")
    assert release.python_range == ((3, 6), newest)
    assert release.known == known


def test_unknown_and_future_obs_versions_say_what_is_assumed() -> None:
    unknown = installer.obs_versions.ObsRelease(None, "no obs64.exe").describe()
    assert "OBS's version is unknown (no obs64.exe)" in unknown and "Python 3.6-3.12 is assumed" in unknown
    assert "OBS 33.0.0 (x) loads Python 3.6-3.12 as far as known" in \
        installer.obs_versions.ObsRelease((33, 0, 0), "x").describe()
    assert "predates 28.0" in installer.obs_versions.ObsRelease((27, 2, 4), "x").describe()
    assert installer.obs_versions.ObsRelease((30, 0, 2), "x").describe() == "OBS 30.0.2 (x) loads Python 3.6-3.11"


def test_obs_version_from_obs64_exe_from_info_plist_and_from_the_config(tmp_path: Path) -> None:
    program = tmp_path / "obs-studio"
    exe = fake_obs64_exe(program / "bin" / "64bit" / "obs64.exe", (30, 0, 2))
    app = fake_obs_app(tmp_path, "31.1.0")
    config = obs_config("32.0.2-windows", tmp_path)

    assert platforms.windows.exe_version(exe) == (30, 0, 2)
    assert platforms.macos.app_version(app) == (31, 1, 0)
    assert installer.detect.obs_release("windows", program, config) == \
        installer.obs_versions.ObsRelease((30, 0, 2), str(exe))
    assert installer.detect.obs_release("macos", app, config).version == (31, 1, 0)
    from_config = installer.detect.obs_release("windows", None, config)
    assert from_config.version == (32, 0, 2) and "last run" in from_config.source
    assert installer.detect.obs_release("windows", tmp_path / "none", tmp_path / "none").version is None
    assert platforms.windows.exe_version(touch(tmp_path / "other.exe", b"MZ no resource")) is None


@pytest.mark.parametrize(
    ("fixture", "version"),
    [("29.1.3-windows", (29, 1, 3)), ("30.0.2-macos", (30, 0, 2)), ("30.2.3-linux", (30, 2, 3)),
     ("31.0.3-windows-migrated", (31, 0, 3)), ("31.1.2-macos", (31, 1, 2)), ("32.0.2-windows", (32, 0, 2)),
     ("32.2.2-linux-first-start", (32, 2, 2))],
)
def test_last_obs_version_of_each_config(fixture: str, version: tuple[int, int, int]) -> None:
    """global.ini's LastVersion, also where a stale copy of it sits in user.ini (OBS 31's migration)."""
    assert installer.obs_versions.config_last_version(OBS_CONFIGS / fixture) == version


def test_windows_obs_30_0_cannot_load_python_3_12(tmp_path: Path, fake_probe: list[Path]) -> None:
    """OBS 30.0 searches python311.dll down: a Python 3.12 folder gives it no Python at all, 30.1 loads it."""
    python_folder = tmp_path / "Python312"
    touch(python_folder / "python312.dll")
    touch(python_folder / "python.exe")
    config = obs_config("29.1.3-windows", tmp_path)
    set_python_folder(config, python_folder)
    program = tmp_path / "obs-studio"
    exe = fake_obs64_exe(program / "bin" / "64bit" / "obs64.exe", (30, 0, 2))

    with pytest.raises(installer.common.InstallError) as raised:
        platforms.configured_python.find_obs_python("windows", config,
                                                    installer.detect.obs_release("windows", program, config))
    message = str(raised.value)
    assert f"OBS 30.0.2 ({exe}) loads Python 3.6-3.11" in message
    assert "Python 3.9-3.11 (the folder holding python311.dll" in message

    fake_obs64_exe(exe, (30, 1, 2))
    python = platforms.configured_python.find_obs_python("windows", config,
                                                         installer.detect.obs_release("windows", program, config))
    assert python.version == (3, 12) and "OBS 30.1.2" in python.found_by and "3.6-3.12" in python.found_by


def test_macos_obs_30_0_with_python_3_11_and_3_12_installed(tmp_path: Path, fake_probe: list[Path]) -> None:
    """OBS 30.0 loads 3.11 at most, from Versions/Current (before 31.1): cp311 wheels, or none if Current is 3.12."""
    frameworks = tmp_path / "Library" / "Frameworks"
    versions = frameworks / "Python.framework" / "Versions"
    for minor in (11, 12):
        touch(versions / f"3.{minor}" / "lib" / f"libpython3.{minor}.dylib")
    config = obs_config("30.0.2-macos", tmp_path)
    set_python_folder(config, frameworks)
    release = installer.detect.obs_release("macos", None, config)
    assert release.version == (30, 0, 2)

    (versions / "Current").symlink_to("3.11")
    python = platforms.configured_python.find_obs_python("macos", config, release)
    assert python.executable == versions / "Current" / "bin" / "python3.11" and python.version == (3, 11)

    (versions / "Current").unlink()
    (versions / "Current").symlink_to("3.12")
    with pytest.raises(installer.common.InstallError) as raised:
        platforms.configured_python.find_obs_python("macos", config, release)
    message = str(raised.value)
    assert "holds no Python OBS can load" in message
    assert "OBS 30.0.2 (last run, " in message and "loads Python 3.6-3.11" in message
    assert "Python 3.9-3.11" in message and "Versions/Current points to" in message
    assert "OBS 30/31" not in message


def test_macos_obs_31_1_loads_from_the_versioned_framework_folder(tmp_path: Path, fake_probe: list[Path]) -> None:
    frameworks = tmp_path / "Library" / "Frameworks"
    versions = frameworks / "Python.framework" / "Versions"
    touch(versions / "3.12" / "lib" / "libpython3.12.dylib")
    touch(versions / "3.11" / "lib" / "libpython3.11.dylib")
    (versions / "Current").symlink_to("3.11")
    config = obs_config("31.1.2-macos", tmp_path)
    set_python_folder(config, frameworks)

    python = platforms.configured_python.find_obs_python("macos", config,
                                                         installer.detect.obs_release("macos", None, config))

    assert python.executable == versions / "3.12" / "bin" / "python3.12"
    assert "user.ini" in python.found_by


def test_the_python_settings_instruction_follows_the_obs_version(tmp_path: Path) -> None:
    old = platforms.configured_python.python_settings_instruction("windows", tmp_path, "No Python.",
                                                installer.obs_versions.ObsRelease((30, 0, 2), "obs64.exe"))
    assert "Python 3.9-3.11" in old and "python311.dll" in old and "OBS 30.0.2 (obs64.exe) loads Python 3.6-3.11" in old
    unknown = platforms.configured_python.python_settings_instruction("windows", tmp_path, "No Python.")
    assert "Python 3.9-3.12" in unknown and "OBS's version is unknown" in unknown


def test_ini_values_are_read_as_obs_unescapes_them(tmp_path: Path) -> None:
    """libobs writes a backslash as two: a hand-typed Windows path comes back with single ones."""
    touch(tmp_path / "user.ini", "\ufeff[Python]\nPath64bit=C:\\\\Python312\\\\x\n")
    assert installer.obs_config.ini_value(tmp_path, "Python", "Path64bit") == \
        ("C:\\Python312\\x", tmp_path / "user.ini")
    assert installer.obs_config.unescape_ini_value("a\\\\nb\\rc") == "a\\nb\rc"


# --- the architecture OBS runs as (macOS) ----------------------------------------------------------
def test_mach_o_architectures(tmp_path: Path) -> None:
    thin = fake_obs_app(tmp_path / "a", "32.0.2", (ARM64,)) / "Contents/MacOS/OBS"
    assert platforms.macos.mach_o_architectures(thin) == ["arm64"]
    universal = fake_obs_app(tmp_path / "u", "32.0.2", (X86_64, ARM64)) / "Contents/MacOS/OBS"
    assert platforms.macos.mach_o_architectures(universal) == ["x86_64", "arm64"]
    assert platforms.macos.mach_o_architectures(touch(tmp_path / "script", "#!/bin/sh\n")) == []
    assert platforms.macos.mach_o_architectures(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("architectures", "native", "runs_as"),
    [((ARM64,), "arm64", "arm64"), ((X86_64,), "arm64", "x86_64"), ((X86_64, ARM64), "arm64", "arm64"),
     ((X86_64, ARM64), "x86_64", "x86_64"), ((), "arm64", None)],
    ids=["apple-silicon-build", "intel-build-under-rosetta", "universal-on-m1", "universal-on-intel", "no-binary"],
)
def test_the_architecture_obs_runs_as(tmp_path: Path, architectures: tuple[int, ...], native: str,
                                      runs_as: str | None) -> None:
    app = fake_obs_app(tmp_path, "32.0.2", architectures)
    assert platforms.macos.obs_architecture(app, native) == runs_as


def test_python_run_under_rosetta_for_an_apple_silicon_obs_is_refused_with_what_to_do() -> None:
    """A Terminal under Rosetta starts a universal Python as x86_64: its wheels would not load in OBS."""
    rosetta = installer.obs_python.ObsPython(Path("/usr/local/bin/python3.12"), (3, 12), "test", "macos-x86_64")
    problem = platforms.macos.architecture_problem(rosetta, "arm64")
    assert problem is not None and problem.count(". ") == 0 and problem.endswith(".")
    assert "OBS runs as arm64 but its Python" in problem and "ran here as x86_64" in problem
    assert "run arch -arm64 python3 install.py" in problem and "Rosetta" in problem
    native = installer.obs_python.ObsPython(Path("/usr/local/bin/python3.12"), (3, 12), "test", "macos-arm64")
    assert "install the Apple Silicon build of OBS" in platforms.macos.architecture_problem(native, "x86_64")
    assert platforms.macos.architecture_problem(native, "arm64") is None
    assert platforms.macos.architecture_problem(native, None) is None


def test_install_refuses_before_installing_for_the_wrong_architecture(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    rosetta = installer.obs_python.ObsPython(Path("/usr/local/bin/python3.12"), (3, 12), "test", "macos-x86_64")
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(tmp_path / "pydeps"))
    monkeypatch.setattr(installer.repo.paths, "current_system", lambda: "macos")
    monkeypatch.setattr(installer.detect, "find_obs_python", lambda override: rosetta)
    monkeypatch.setattr(installer.detect, "obs_architecture", lambda system: "arm64")
    monkeypatch.setattr(installer.gpu, "detect_nvidia", lambda system: pytest.fail("went on to install"))

    with pytest.raises(installer.common.InstallError, match=r"run arch -arm64 python3 install\.py"):
        installer.installation.install(installer.cli.parse_arguments([]))
    assert not (tmp_path / "pydeps").exists()


# --- Linux: packages, /usr/local, Flatpak ----------------------------------------------------------
def test_linux_scripting_library_of_a_distribution_package(tmp_path: Path) -> None:
    library = touch(tmp_path / "usr/lib/x86_64-linux-gnu/obs-scripting/_obspython.so")
    local = touch(tmp_path / "usr/local/lib/libobs-scripting.so.30")
    touch(tmp_path / "usr/bin/obs")

    assert platforms.linux.scripting_libraries(tmp_path) == [library, local]
    assert platforms.linux.obs_program(tmp_path) == tmp_path / "usr/bin/obs"


def test_linked_python_read_from_the_library_without_ldd(tmp_path: Path) -> None:
    """Not an ELF file, so ldd finds nothing: the libpython name inside the file gives the version."""
    library = touch(tmp_path / "_obspython.so", b"\x7fELF\0junk\0libpython3.12.so.1.0\0more")
    assert platforms.linux.linked_python(library) == ((3, 12), None)


def test_flatpak_only_gives_the_exact_way_to_install_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "me"
    (tmp_path / "var/lib/flatpak/app/com.obsproject.Studio/current").mkdir(parents=True)
    monkeypatch.setattr(platforms.flatpak, "python_version", lambda: (3, 12))

    with pytest.raises(installer.common.InstallError) as raised:
        platforms.linux.find_obs_python(tmp_path, home)

    message = str(raised.value)
    deps = home / ".var/app/com.obsproject.Studio/data/obs-blur/pydeps/cp312"
    assert "Flatpak" in message and "its runtime's Python 3.12" in message
    assert f"OBS_BLUR_PYDEPS={deps} python3 install.py --obs-python /usr/bin/python3.12" in message
    assert "sudo apt install obs-studio" in message


def test_flatpak_installed_for_the_user_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = home / ".local/share/flatpak/app/com.obsproject.Studio"
    (app / "current").mkdir(parents=True)
    assert platforms.flatpak.obs_app(tmp_path, home) == app
    assert platforms.flatpak.obs_app(tmp_path, tmp_path / "nobody") is None


def test_flatpak_advice_without_flatpak_to_ask(tmp_path: Path) -> None:
    message = platforms.flatpak.advice(tmp_path / "app", tmp_path, None)
    assert "its version: flatpak run --command=python3 com.obsproject.Studio --version" in message
    assert "pydeps/cp3X" in message


def test_no_obs_at_all_on_linux(tmp_path: Path) -> None:
    with pytest.raises(installer.common.InstallError, match="sudo apt install obs-studio"):
        platforms.linux.find_obs_python(tmp_path, tmp_path)


def test_linux_config_and_data_follow_xdg(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")}
    assert installer.obs_config.obs_config_dir("linux", env, tmp_path) == tmp_path / "c" / "obs-studio"
    assert installer.obs_config.obs_config_dir("linux", {}, tmp_path) == tmp_path / ".config" / "obs-studio"
    assert installer.repo.paths.private_dependency_folder("cp311", "linux", env, tmp_path) == \
        tmp_path / "d/obs-blur/pydeps/cp311"


@pytest.mark.parametrize(
    ("sys_platform", "machine", "key"),
    [("linux", "x86_64", "linux-x86_64"), ("linux", "aarch64", "linux-aarch64"), ("win32", "AMD64", "windows-amd64"),
     ("darwin", "arm64", "macos-arm64"), ("darwin", "x86_64", "macos-x86_64")],
)
def test_platform_keys(sys_platform: str, machine: str, key: str) -> None:
    assert installer.obs_python.platform_key(sys_platform, machine) == key


# --- NVIDIA and the flavour ------------------------------------------------------------------------
NVIDIA_SMI = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
"""


def test_nvidia_driver_from_nvidia_smi_and_from_proc() -> None:
    driver = installer.gpu.parse_nvidia_smi(NVIDIA_SMI)
    assert (driver.version, driver.cuda_major) == ("550.54.15", 12)
    proc = installer.gpu.parse_proc_nvidia_version(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 06:54:38 UTC 2025\n")
    assert (proc.version, proc.cuda_major) == ("580.65.06", 13)
    assert installer.gpu.parse_nvidia_smi("NVIDIA-SMI has failed") is None
    drivers = ("470.1", "525.60.13", "579.9", "580.1")
    assert [installer.gpu.cuda_major_for_driver(v) for v in drivers] == [11, 12, 12, 13]


def test_nvidia_from_proc_file_without_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    touch(tmp_path / "driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  x\n")
    driver, note = installer.gpu.detect_nvidia("linux", tmp_path)
    assert driver is not None and driver.cuda_major == 12 and "535.183.01" in note
    driver, note = installer.gpu.detect_nvidia("linux", tmp_path / "none")
    assert driver is None and "nvidia-smi not found" in note


def nvidia(version: str) -> object:
    return installer.gpu.NvidiaDriver(version, installer.gpu.cuda_major_for_driver(version), "test")


@pytest.mark.parametrize(
    ("device", "platform", "python", "driver", "flavour"),
    [
        ("auto", "linux-x86_64", (3, 11), None, "cpu"),
        ("auto", "linux-x86_64", (3, 11), "550.54.15", "cuda12"),
        ("auto", "linux-x86_64", (3, 11), "580.65.06", "cuda13"),
        ("auto", "linux-x86_64", (3, 10), "580.65.06", "cuda12"),
        ("auto", "linux-x86_64", (3, 11), "470.256.02", "cpu"),
        ("auto", "linux-x86_64", (3, 9), "580.65.06", "cpu"),
        ("auto", "linux-aarch64", (3, 12), "580.65.06", "cpu"),
        ("auto", "windows-amd64", (3, 12), None, "directml"),
        ("auto", "windows-amd64", (3, 12), "581.57", "cuda13"),
        ("auto", "windows-amd64", (3, 12), "470.1", "directml"),
        ("auto", "macos-arm64", (3, 12), None, "coreml"),
        ("cpu", "windows-amd64", (3, 12), "581.57", "cpu"),
        ("cuda", "linux-x86_64", (3, 11), None, "cuda13"),
        ("coreml", "macos-x86_64", (3, 11), None, "coreml"),
    ],
)
def test_flavour_choice(device: str, platform: str, python: tuple[int, int], driver: str | None,
                        flavour: str) -> None:
    chosen = installer.gpu.choose_flavour(device, platform, python, nvidia(driver) if driver else None)
    assert chosen.name == flavour, chosen.reason


@pytest.mark.parametrize(
    ("device", "platform", "python", "driver", "why"),
    [
        ("directml", "linux-x86_64", (3, 11), None, "only on Windows"),
        ("coreml", "windows-amd64", (3, 11), None, "only on macOS"),
        ("cuda", "macos-arm64", (3, 11), None, "Linux x86_64 and Windows only"),
        ("cuda", "linux-x86_64", (3, 11), "470.1", "too old for CUDA 12"),
        ("cuda", "windows-amd64", (3, 9), None, "Python 3.10 or newer"),
    ],
)
def test_impossible_flavour_requests_are_refused(device: str, platform: str, python: tuple[int, int],
                                                 driver: str | None, why: str) -> None:
    with pytest.raises(installer.common.InstallError, match=why):
        installer.gpu.choose_flavour(device, platform, python, nvidia(driver) if driver else None)


def test_every_pin_row_is_exact_and_holds_one_onnxruntime() -> None:
    """One onnxruntime flavour per folder, and nothing floats: every version is a full pin."""
    for row in installer.pins.PINS:
        onnxruntimes = [name for name in row.packages if name.startswith("onnxruntime")]
        assert len(onnxruntimes) == 1, row
        assert all(version[0].isdigit() and "*" not in version for version in row.packages.values()), row
        assert {"numpy", "opencv-python-headless"} <= set(row.packages), row


def test_every_flavour_chosen_automatically_has_pins() -> None:
    """Whatever auto picks for a supported Python on a supported platform can be installed."""
    drivers = [None, nvidia("550.54.15"), nvidia("580.65.06")]
    for platform in ("linux-x86_64", "linux-aarch64", "windows-amd64"):
        for minor in range(9, 15):
            for driver in drivers:
                flavour = installer.gpu.choose_flavour("auto", platform, (3, minor), driver)
                packages = installer.pins.pins_for(flavour.wheels, (3, minor), platform)
                assert installer.pins.onnxruntime_package(packages).startswith("onnxruntime"), (platform, minor)


# The Pythons obs-blur has wheels for on each macOS: onnxruntime 1.24 and newer need macOS 14 and
# Apple Silicon, 1.20-1.23 macOS 13; OpenCV 4.11 and newer need macOS 13 (5.0 on Intel 14), 4.10
# macOS 11 (on Intel 12).
MACOS_SUPPORT = {
    ("macos-arm64", (11, 0)): (9, 12),
    ("macos-arm64", (12, 7)): (9, 12),
    ("macos-arm64", (13, 6)): (9, 13),
    ("macos-arm64", (14, 0)): (9, 14),
    ("macos-arm64", (26, 1)): (9, 14),
    ("macos-x86_64", (11, 7)): None,
    ("macos-x86_64", (12, 7)): (9, 12),
    ("macos-x86_64", (13, 6)): (9, 13),
    ("macos-x86_64", (15, 1)): (9, 13),
}


@pytest.mark.parametrize(("platform", "macos"), sorted(MACOS_SUPPORT))
def test_the_pythons_with_pins_on_each_macos(platform: str, macos: tuple[int, int]) -> None:
    supported = MACOS_SUPPORT[(platform, macos)]
    for minor in range(8, 16):
        flavour = installer.gpu.choose_flavour("auto", platform, (3, minor), None)
        if supported and supported[0] <= minor <= supported[1]:
            packages = installer.pins.pins_for(flavour.wheels, (3, minor), platform, macos)
            assert {"onnxruntime", "numpy", "opencv-python-headless"} <= set(packages), (minor, packages)
        else:
            with pytest.raises(installer.common.InstallError, match=f"no pinned cpu wheels for Python 3.{minor}"):
                installer.pins.pins_for(flavour.wheels, (3, minor), platform, macos)


@pytest.mark.parametrize(
    ("platform", "macos", "python", "onnxruntime"),
    [("macos-arm64", (13, 6), (3, 11), "1.23.2"), ("macos-arm64", (14, 0), (3, 11), "1.32.0"),
     ("macos-arm64", (12, 7), (3, 12), "1.19.2"), ("macos-x86_64", (13, 0), (3, 12), "1.23.2"),
     ("macos-arm64", (13, 0), (3, 10), "1.23.2"), ("macos-x86_64", (12, 0), (3, 9), "1.19.2")],
)
def test_macos_pins_fit_the_macos_version(platform: str, macos: tuple[int, int], python: tuple[int, int],
                                          onnxruntime: str) -> None:
    """onnxruntime 1.32.0 has no wheel for macOS 13 (Ventura) on Apple Silicon: 1.23.2 is the newest there."""
    assert installer.pins.pins_for("cpu", python, platform, macos)["onnxruntime"] == onnxruntime


def test_no_pins_names_the_pythons_this_macos_has_wheels_for() -> None:
    with pytest.raises(installer.common.InstallError) as raised:
        installer.pins.pins_for("cpu", (3, 14), "macos-arm64", (13, 6))
    message = str(raised.value)
    assert "Python 3.14 on macos-arm64 (macOS 13.6)" in message
    assert "cover Python 3.9-3.13 there" in message and "or a newer macOS" in message


@pytest.mark.parametrize(
    ("mac_ver", "version"),
    [("13.6.1", (13, 6)), ("14.0", (14, 0)), ("26", (26, 0)), ("10.16", (11, 0)), ("", None)],
)
def test_macos_version(mac_ver: str, version: tuple[int, int] | None) -> None:
    """platform.mac_ver()[0]; "10.16" is any macOS 11+ as a Python built with an old SDK sees it."""
    assert platforms.macos.parse_version(mac_ver) == version


def test_the_macos_version_is_that_of_this_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platforms.macos, "mac_ver", lambda: ("13.6.1", ("", "", ""), "arm64"))
    assert platforms.macos.host_version("macos") == (13, 6)
    assert platforms.macos.host_version("windows") is None


def test_rows_with_a_macos_platform_claim_a_lowest_macos() -> None:
    for row in installer.pins.PINS:
        if any(platform.startswith("macos") for platform in row.platforms):
            assert row.lowest_macos >= (10, 9), row


def test_pins_for_this_debian_obs() -> None:
    packages = installer.pins.pins_for("cpu", (3, 11), "linux-x86_64")
    assert packages["onnxruntime"] == "1.32.0"
    assert installer.pins.requirement_strings(packages)[0] == "onnxruntime==1.32.0"
    gpu = installer.pins.pins_for("cuda13", (3, 11), "linux-x86_64")
    assert installer.pins.requirement_strings(gpu)[0] == "onnxruntime-gpu[cuda,cudnn]==1.31.1"
    with pytest.raises(installer.common.InstallError, match=r"no pinned cpu wheels for Python 3\.8"):
        installer.pins.pins_for("cpu", (3, 8), "linux-x86_64")


# --- the record, running OBS, the scene collection, v4l2loopback --------------------------------------
def test_record_comparison() -> None:
    python = installer.obs_python.ObsPython(Path("/usr/bin/python3.11"), (3, 11), "test", "linux-x86_64")
    flavour = installer.gpu.Flavour("cpu", "test")
    wanted = installer.record.wanted_record(python, flavour, {"onnxruntime": "1.32.0"})
    assert installer.record.record_matches({**wanted, "installed_at": "then"}, wanted)
    assert not installer.record.record_matches({**wanted, "flavour": "cuda13"}, wanted)
    assert not installer.record.record_matches(None, wanted)


def fake_process(proc: Path, pid: int, comm: str, environ: dict[str, str], argv: tuple[str, ...] = ("obs",)) -> None:
    touch(proc / str(pid) / "comm", comm + "\n")
    touch(proc / str(pid) / "environ", b"\0".join(f"{k}={v}".encode() for k, v in environ.items()) + b"\0")
    touch(proc / str(pid) / "cmdline", b"\0".join(a.encode() for a in argv) + b"\0")


def test_running_obs_is_told_apart_by_its_config_folder(tmp_path: Path) -> None:
    proc, home = tmp_path / "proc", tmp_path / "home"
    config = home / ".config" / "obs-studio"
    config.mkdir(parents=True)
    fake_process(proc, 100, "obs", {"HOME": str(home)})  # default XDG_CONFIG_HOME: the same config
    fake_process(proc, 101, "obs", {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".var/app/x/config")})  # Flatpak
    fake_process(proc, 102, "obs", {"HOME": str(home)}, ("obs", "--portable"))
    fake_process(proc, 103, "bash", {"HOME": str(home)})
    touch(proc / "104" / "comm", "obs\n")  # environment unreadable: assume the same config
    touch(proc / "self" / "comm", "obs\n")

    assert sorted(platforms.linux.obs_processes(config, proc)) == [100, 104]


def test_script_is_added_to_the_collection_once_with_a_backup(tmp_path: Path) -> None:
    collection = touch(tmp_path / "Untitled.json", json.dumps({"name": "Untitled", "sources": []}))
    original = collection.read_bytes()

    added, backup = installer.scene_collection.add_script_to_collection(collection, "linux")

    assert added and backup is not None and backup.read_bytes() == original
    assert backup.name.startswith("Untitled.json.obs-blur-backup-")
    entries = json.loads(collection.read_text())["modules"]["scripts-tool"]
    assert entries == [{"path": str(installer.repo.SCRIPT_PATH), "settings": {}}]
    assert installer.scene_collection.add_script_to_collection(collection, "linux") == (False, None)
    assert len(list(tmp_path.iterdir())) == 2


def test_windows_collection_paths_use_forward_slashes() -> None:
    assert "\\" not in installer.scene_collection.script_entry_path("windows")


def test_scene_collection_from_global_ini(tmp_path: Path) -> None:
    touch(tmp_path / "global.ini", "[Basic]\nSceneCollection=My Show\nSceneCollectionFile=My_Show\n")
    with pytest.raises(installer.common.InstallError, match="does not exist"):
        installer.scene_collection.scene_collection_file(tmp_path)
    path = touch(tmp_path / "basic" / "scenes" / "My_Show.json", "{}")
    assert installer.scene_collection.scene_collection_file(tmp_path) == path
    with pytest.raises(installer.common.InstallError, match="start OBS once"):
        installer.scene_collection.scene_collection_file(tmp_path / "fresh")


# The collection each OBS version opens for the config in tests/fixtures/obs_config/<folder>.
CURRENT_COLLECTIONS = {
    "29.1.3-windows": "Weekly_Meeting.json",
    "30.0.2-macos": "Untitled.json",
    "30.2.3-linux": "Untitled.json",
    "31.0.3-windows-migrated": "Talks__Demos.json",
    "31.1.2-macos": "Untitled.json",
    "32.0.2-windows": "Talks__Demos.json",
}


@pytest.mark.parametrize("fixture", sorted(CURRENT_COLLECTIONS))
def test_current_scene_collection_of_each_obs_version(fixture: str, tmp_path: Path) -> None:
    """OBS 29/30: global.ini, the file's stem; 31+: user.ini, with or without ".json", stale global.ini beside it."""
    config = obs_config(fixture, tmp_path)
    assert installer.scene_collection.scene_collection_file(config) == \
        config / "basic" / "scenes" / CURRENT_COLLECTIONS[fixture]


@pytest.mark.parametrize("fixture", sorted(CURRENT_COLLECTIONS))
def test_add_to_obs_then_check_for_each_obs_version(fixture: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = obs_config(fixture, tmp_path)
    collection = config / "basic" / "scenes" / CURRENT_COLLECTIONS[fixture]
    others = {path: path.read_bytes() for path in collection.parent.glob("*.json") if path != collection}
    before = json.loads(collection.read_text(encoding="utf-8"))["modules"]["scripts-tool"]
    monkeypatch.setattr(installer.detect, "running_obs", lambda system, config_dir: [])

    message = installer.scene_collection.add_to_obs("windows" if "windows" in fixture else "linux", config)

    assert message.startswith(f"Added {installer.repo.SCRIPT_PATH} to the scene collection {collection} (backup: ")
    scripts = json.loads(collection.read_text(encoding="utf-8"))["modules"]["scripts-tool"]
    assert scripts[:-1] == before and Path(scripts[-1]["path"]) == installer.repo.SCRIPT_PATH
    assert {path: path.read_bytes() for path in others} == others
    report = installer.check.CheckReport()
    installer.check.check_script(report, config)
    assert report.lines == [("script in OBS", f"added to {collection}")]


def test_obs_32_before_its_first_collection_loaded(tmp_path: Path) -> None:
    """A real OBS 32.2.2 config from a start that stopped early: no basic/scenes, and no ".json" in user.ini."""
    config = obs_config("32.2.2-linux-first-start", tmp_path)
    with pytest.raises(installer.common.InstallError, match=r"scenes/Untitled\.json does not exist: start OBS once"):
        installer.scene_collection.scene_collection_file(config)
    report = installer.check.CheckReport()
    installer.check.check_script(report, config)
    assert report.lines[0][1].startswith("unknown: the current scene collection ")
    assert report.lines[0][1].endswith(f"then run this again; or add {installer.repo.SCRIPT_PATH} in Tools > Scripts")


def test_obs_31_opens_the_collection_by_its_name(tmp_path: Path) -> None:
    """OBS 31+ looks the current collection up by "name"; a file setting pointing elsewhere loses."""
    touch(tmp_path / "user.ini", "[Basic]\nSceneCollection=Talks & Demos\nSceneCollectionFile=Untitled.json\n")
    touch(tmp_path / "basic" / "scenes" / "Untitled.json", json.dumps({"name": "Untitled"}))
    talks = touch(tmp_path / "basic" / "scenes" / "Talks__Demos.json", json.dumps({"name": "Talks & Demos"}))
    assert installer.scene_collection.scene_collection_file(tmp_path) == talks
    touch(tmp_path / "user.ini", "[Basic]\nSceneCollection=Gone\nSceneCollectionFile=Untitled.json\n")
    assert installer.scene_collection.scene_collection_file(tmp_path) == tmp_path / "basic" / "scenes" / "Untitled.json"


def running_processes(names: dict[str, str]) -> tuple[list[list[str]], Callable[..., subprocess.CompletedProcess]]:
    """A command runner for which pgrep finds the processes in ``names`` (exact, case-sensitive)."""
    commands: list[list[str]] = []

    def run(command: list[str], timeout: float = 60, env: object = None) -> subprocess.CompletedProcess:
        commands.append(command)
        pids = [pid for pid, name in names.items() if command[:2] == ["pgrep", "-x"] and name == command[2]]
        return subprocess.CompletedProcess(command, 0 if pids else 1, stdout="".join(f"{pid}\n" for pid in pids))

    return commands, run


def test_macos_running_obs_is_found_by_its_process_name(tmp_path: Path) -> None:
    """The macOS executable is OBS.app/Contents/MacOS/OBS: pgrep -x obs never matches it."""
    commands, run = running_processes({"4242": "OBS", "4300": "obs-ffmpeg-mux"})
    assert installer.detect.running_obs("macos", tmp_path, run) == ["pid 4242"]
    assert commands == [["pgrep", "-x", "OBS"]]


def test_add_to_obs_refuses_while_obs_runs_on_macos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = obs_config("30.0.2-macos", tmp_path)
    collection = config / "basic" / "scenes" / "Untitled.json"
    original = collection.read_bytes()
    monkeypatch.setattr(installer.common, "run_command", running_processes({"4242": "OBS"})[1])

    with pytest.raises(installer.common.InstallError, match=r"OBS is running \(pid 4242\)"):
        installer.scene_collection.add_to_obs("macos", config)
    assert collection.read_bytes() == original
    assert sorted(path.name for path in collection.parent.iterdir()) == ["Untitled.json"]


def test_record_of_another_architecture_does_not_count_as_installed() -> None:
    """The record's platform carries the architecture: arm64 wheels are not x86_64 ones, same cp tag or not."""
    arm = installer.obs_python.ObsPython(Path("/Library/Frameworks/x/python3.12"), (3, 12), "test", "macos-arm64")
    intel = installer.obs_python.ObsPython(arm.executable, (3, 12), "test", "macos-x86_64")
    flavour = installer.gpu.Flavour("coreml", "test")
    recorded = installer.record.wanted_record(intel, flavour, {"onnxruntime": "1.23.2"})
    assert recorded["platform"] == "macos-x86_64" and recorded["python_tag"] == "cp312"
    wanted = installer.record.wanted_record(arm, flavour, {"onnxruntime": "1.23.2"})
    assert not installer.record.record_matches(recorded, wanted)


def test_an_install_for_another_architecture_is_replaced_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    arm = installer.obs_python.ObsPython(Path("/Library/Frameworks/x/python3.12"), (3, 12), "test", "macos-arm64")
    intel = installer.obs_python.ObsPython(arm.executable, (3, 12), "test", "macos-x86_64")
    flavour, packages = installer.gpu.Flavour("coreml", "test"), {"onnxruntime": "1.23.2"}
    folder = tmp_path / "cp312"
    folder.mkdir()
    recorded = installer.record.wanted_record(intel, flavour, packages)
    (folder / installer.record.RECORD_NAME).write_text(json.dumps(recorded))
    wanted = installer.record.wanted_record(arm, flavour, packages)
    monkeypatch.setattr(installer.pip_install, "install_verified",
                        lambda *args: installer.verify.Verification({}, folder))

    assert installer.installation.already_in_place(arm, folder, wanted) is None
    installer.installation.replace_install(arm, folder, packages, wanted, None)

    assert "Replacing the coreml install (onnxruntime 1.23.2 for macos-x86_64, not macos-arm64)" in \
        capsys.readouterr().out


def test_check_names_wheels_of_another_architecture_and_what_to_do(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Wheels installed from a Terminal under Rosetta, checked natively: one sentence says what to do."""
    arm = installer.obs_python.ObsPython(Path("/Library/Frameworks/x/python3.12"), (3, 12), "test", "macos-arm64")
    intel = installer.obs_python.ObsPython(arm.executable, (3, 12), "test", "macos-x86_64")
    folder = tmp_path / "cp312"
    folder.mkdir()
    record = installer.record.wanted_record(intel, installer.gpu.Flavour("coreml", "test"), {"onnxruntime": "1.23.2"})
    (folder / installer.record.RECORD_NAME).write_text(json.dumps({**record, "installed_at": "then"}))
    error = ("ImportError: dlopen(.../numpy/_core/_multiarray_umath.cpython-312-darwin.so, 0x0002): tried: "
             "'...' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64'))")
    monkeypatch.setattr(installer.verify, "verify_dependencies", lambda python, folder: installer.verify.Verification(
        {"numpy": {"error": error}}, folder))

    report = installer.check.CheckReport()
    installer.check.check_folder(report, arm, folder)

    assert report.problems[0] == (f"{folder} holds wheels for macos-x86_64 but OBS's Python runs as macos-arm64: "
                                  "run python3 install.py to replace them")
    assert any("are for another CPU architecture" in problem and "run python3 install.py" in problem
               for problem in report.problems)


def test_check_on_a_mac_under_rosetta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--check on a Mac with OBS 31.1.2 for Apple Silicon, run from a Terminal under Rosetta."""
    home = tmp_path / "Users" / "me"
    config = home / "Library" / "Application Support" / "obs-studio"
    shutil.copytree(OBS_CONFIGS / "31.1.2-macos", config)
    frameworks = tmp_path / "Library" / "Frameworks"
    touch(frameworks / "Python.framework" / "Versions" / "3.12" / "lib" / "libpython3.12.dylib")
    set_python_folder(config, frameworks)
    app = fake_obs_app(tmp_path, "31.1.2", (ARM64,))
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(tmp_path / "pydeps"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setattr(installer.repo.paths, "current_system", lambda: "macos")
    monkeypatch.setattr(installer.detect, "obs_program", lambda system: app)
    monkeypatch.setattr(platforms.macos, "native_architecture", lambda: "arm64")
    monkeypatch.setattr(installer.obs_python, "probe_interpreter", lambda executable: ((3, 12), "macos-x86_64"))
    monkeypatch.setattr(installer.gpu, "detect_nvidia", lambda system: (None, "no NVIDIA driver"))

    assert installer.cli.main(["--check"]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert f"OBS version       OBS 31.1.2 ({app / 'Contents' / 'Info.plist'}) loads Python 3.6-3.12" in lines
    assert "architecture      OBS runs as arm64, its Python here as x86_64" in lines
    assert f"script in OBS     not in {config / 'basic' / 'scenes' / 'Untitled.json'}" in "\n".join(lines)
    assert "run arch -arm64 python3 install.py (this Terminal runs under Rosetta)" in lines[-1]


def test_v4l2loopback_loaded_missing_and_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "module" / "v4l2loopback").mkdir(parents=True)
    assert platforms.linux.v4l2loopback_status(tmp_path) == \
        ("v4l2loopback is loaded: the virtual camera works", True)

    def modinfo_fails(command: list[str], timeout: float = 60) -> object:
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(installer.common, "run_command", modinfo_fails)
    status, fine = platforms.linux.v4l2loopback_status(tmp_path / "none")
    assert not fine
    assert "sudo apt install v4l2loopback-dkms" in status
    assert 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="OBS Virtual Camera"' in status
