"""install.py's detection, as pure functions over fixture folder layouts and ini files: no OBS needed.

Windows and macOS cannot run here, so their layouts (Program Files, OBS.app, the Python folder OBS
loads from, global.ini/user.ini) are built in a temporary folder and the interpreter probe is faked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obs.script_modules import load_installer

REPO_ROOT = Path(__file__).resolve().parents[1]


installer = load_installer()


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

    monkeypatch.setattr(installer, "probe_interpreter", probe)
    return probed


# --- Windows ---------------------------------------------------------------------------------------
def test_windows_finds_obs_in_program_files_and_prefers_the_registry(tmp_path: Path) -> None:
    program_files = tmp_path / "Program Files"
    touch(program_files / "obs-studio" / "bin" / "64bit" / "obs64.exe")
    registry = tmp_path / "D" / "OBS"
    env = {"ProgramFiles": str(program_files)}

    assert installer.windows_obs_folder(env, None) == program_files / "obs-studio"
    assert installer.windows_obs_folder(env, str(registry)) == program_files / "obs-studio"  # registry stale
    touch(registry / "bin" / "64bit" / "obs64.exe")
    assert installer.windows_obs_folder(env, str(registry)) == registry
    assert installer.windows_obs_folder({}, None) is None


def test_windows_config_folder_is_under_appdata(tmp_path: Path) -> None:
    env = {"APPDATA": str(tmp_path / "Roaming")}
    assert installer.obs_config_dir("windows", env, tmp_path) == tmp_path / "Roaming" / "obs-studio"
    assert installer.user_data_base("windows", {"LOCALAPPDATA": str(tmp_path / "L")}, tmp_path) == tmp_path / "L"


def test_windows_python_from_global_ini_as_obs_loads_it(tmp_path: Path, fake_probe: list[Path]) -> None:
    """OBS searches python312.dll down to python36.dll in Path64bit: the newest there wins."""
    python_folder = tmp_path / "Python312"
    touch(python_folder / "python311.dll")
    touch(python_folder / "python312.dll")
    touch(python_folder / "python.exe")
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"\ufeff[General]\nName=x%y\n\n[Python]\nPath64bit={python_folder.as_posix()}\n")

    python = installer.find_configured_obs_python("windows", config)

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

    assert installer.find_configured_obs_python("windows", config).version == (3, 12)


def test_windows_without_python_configured_says_what_to_click(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", "[General]\nFirstRun=true\n")

    with pytest.raises(installer.InstallError) as raised:
        installer.find_configured_obs_python("windows", config)

    message = str(raised.value)
    assert "no Python configured" in message
    assert "Tools > Scripts > Python Settings" in message
    assert "3.9-3.12" in message and "64-bit" in message and "python312.dll" in message


def test_windows_python_folder_without_a_loadable_python(tmp_path: Path) -> None:
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={tmp_path / 'Empty'}\n")
    with pytest.raises(installer.InstallError, match="holds no Python OBS can load"):
        installer.find_configured_obs_python("windows", config)


def test_a_python_obs_loads_but_obs_blur_cannot_use_is_refused(tmp_path: Path, fake_probe: list[Path]) -> None:
    touch(tmp_path / "Python36" / "python36.dll")
    config = tmp_path / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={tmp_path / 'Python36'}\n")
    with pytest.raises(installer.InstallError, match=r"3\.6 .*too old for obs-blur"):
        installer.find_configured_obs_python("windows", config)
    assert fake_probe == []


def test_python_newer_than_obs_loads_is_not_picked(tmp_path: Path) -> None:
    """OBS 30/31 stop at 3.12: a folder with only python313.dll is one OBS cannot load."""
    touch(tmp_path / "Python313" / "python313.dll")
    assert installer.python_in_obs_folder(tmp_path / "Python313", "windows") is None


# --- macOS -----------------------------------------------------------------------------------------
def test_macos_finds_obs_app_and_its_config(tmp_path: Path) -> None:
    (tmp_path / "Applications" / "OBS.app").mkdir(parents=True)
    home = tmp_path / "Users" / "me"
    assert installer.macos_obs_app(tmp_path, home) == tmp_path / "Applications" / "OBS.app"
    assert installer.macos_obs_app(tmp_path / "elsewhere", home) is None
    assert installer.obs_config_dir("macos", {}, home) == home / "Library" / "Application Support" / "obs-studio"


def test_macos_python_from_the_framework_folder(tmp_path: Path, fake_probe: list[Path]) -> None:
    frameworks = tmp_path / "Library" / "Frameworks"
    version = frameworks / "Python.framework" / "Versions" / "3.11"
    touch(version / "lib" / "libpython3.11.dylib")
    config = tmp_path / "Library" / "Application Support" / "obs-studio"
    touch(config / "global.ini", f"[Python]\nPath64bit={frameworks}\n")

    python = installer.find_configured_obs_python("macos", config)

    assert python.executable == version / "bin" / "python3.11"
    assert python.version == (3, 11)


def test_macos_without_python_configured_points_at_the_python_org_folder(tmp_path: Path) -> None:
    with pytest.raises(installer.InstallError) as raised:
        installer.find_configured_obs_python("macos", tmp_path / "obs-studio")
    assert "/Library/Frameworks" in str(raised.value)
    assert "Tools > Scripts > Python Settings" in str(raised.value)


# --- Linux: packages, /usr/local, Flatpak ----------------------------------------------------------
def test_linux_scripting_library_of_a_distribution_package(tmp_path: Path) -> None:
    library = touch(tmp_path / "usr/lib/x86_64-linux-gnu/obs-scripting/_obspython.so")
    local = touch(tmp_path / "usr/local/lib/libobs-scripting.so.30")
    touch(tmp_path / "usr/bin/obs")

    assert installer.linux_scripting_libraries(tmp_path) == [library, local]
    assert installer.linux_obs_program(tmp_path) == tmp_path / "usr/bin/obs"


def test_linked_python_read_from_the_library_without_ldd(tmp_path: Path) -> None:
    """Not an ELF file, so ldd finds nothing: the libpython name inside the file gives the version."""
    library = touch(tmp_path / "_obspython.so", b"\x7fELF\0junk\0libpython3.12.so.1.0\0more")
    assert installer.linked_python(library) == ((3, 12), None)


def test_flatpak_only_gives_the_exact_way_to_install_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "me"
    (tmp_path / "var/lib/flatpak/app/com.obsproject.Studio/current").mkdir(parents=True)
    monkeypatch.setattr(installer, "flatpak_python_version", lambda: (3, 12))

    with pytest.raises(installer.InstallError) as raised:
        installer.find_linux_obs_python(tmp_path, home)

    message = str(raised.value)
    deps = home / ".var/app/com.obsproject.Studio/data/obs-blur/pydeps/cp312"
    assert "Flatpak" in message and "its runtime's Python 3.12" in message
    assert f"OBS_BLUR_PYDEPS={deps} python3 install.py --obs-python /usr/bin/python3.12" in message
    assert "sudo apt install obs-studio" in message


def test_flatpak_installed_for_the_user_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = home / ".local/share/flatpak/app/com.obsproject.Studio"
    (app / "current").mkdir(parents=True)
    assert installer.flatpak_obs(tmp_path, home) == app
    assert installer.flatpak_obs(tmp_path, tmp_path / "nobody") is None


def test_flatpak_advice_without_flatpak_to_ask(tmp_path: Path) -> None:
    message = installer.flatpak_advice(tmp_path / "app", tmp_path, None)
    assert "its version: flatpak run --command=python3 com.obsproject.Studio --version" in message
    assert "pydeps/cp3X" in message


def test_no_obs_at_all_on_linux(tmp_path: Path) -> None:
    with pytest.raises(installer.InstallError, match="sudo apt install obs-studio"):
        installer.find_linux_obs_python(tmp_path, tmp_path)


def test_linux_config_and_data_follow_xdg(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")}
    assert installer.obs_config_dir("linux", env, tmp_path) == tmp_path / "c" / "obs-studio"
    assert installer.obs_config_dir("linux", {}, tmp_path) == tmp_path / ".config" / "obs-studio"
    assert installer.private_dependency_folder("cp311", "linux", env, tmp_path) == tmp_path / "d/obs-blur/pydeps/cp311"


@pytest.mark.parametrize(
    ("sys_platform", "machine", "key"),
    [("linux", "x86_64", "linux-x86_64"), ("linux", "aarch64", "linux-aarch64"), ("win32", "AMD64", "windows-amd64"),
     ("darwin", "arm64", "macos-arm64"), ("darwin", "x86_64", "macos-x86_64")],
)
def test_platform_keys(sys_platform: str, machine: str, key: str) -> None:
    assert installer.platform_key(sys_platform, machine) == key


# --- NVIDIA and the flavour ------------------------------------------------------------------------
NVIDIA_SMI = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
"""


def test_nvidia_driver_from_nvidia_smi_and_from_proc() -> None:
    driver = installer.parse_nvidia_smi(NVIDIA_SMI)
    assert (driver.version, driver.cuda_major) == ("550.54.15", 12)
    proc = installer.parse_proc_nvidia_version(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 06:54:38 UTC 2025\n")
    assert (proc.version, proc.cuda_major) == ("580.65.06", 13)
    assert installer.parse_nvidia_smi("NVIDIA-SMI has failed") is None
    assert [installer.cuda_major_for_driver(v) for v in ("470.1", "525.60.13", "579.9", "580.1")] == [11, 12, 12, 13]


def test_nvidia_from_proc_file_without_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installer.shutil, "which", lambda name: None)
    touch(tmp_path / "driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  x\n")
    driver, note = installer.detect_nvidia("linux", tmp_path)
    assert driver is not None and driver.cuda_major == 12 and "535.183.01" in note
    driver, note = installer.detect_nvidia("linux", tmp_path / "none")
    assert driver is None and "nvidia-smi not found" in note


def nvidia(version: str) -> object:
    return installer.NvidiaDriver(version, installer.cuda_major_for_driver(version), "test")


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
    chosen = installer.choose_flavour(device, platform, python, nvidia(driver) if driver else None)
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
    with pytest.raises(installer.InstallError, match=why):
        installer.choose_flavour(device, platform, python, nvidia(driver) if driver else None)


def test_every_pin_row_is_exact_and_holds_one_onnxruntime() -> None:
    """One onnxruntime flavour per folder, and nothing floats: every version is a full pin."""
    for row in installer.PINS:
        onnxruntimes = [name for name in row.packages if name.startswith("onnxruntime")]
        assert len(onnxruntimes) == 1, row
        assert all(version[0].isdigit() and "*" not in version for version in row.packages.values()), row
        assert {"numpy", "opencv-python-headless"} <= set(row.packages), row


def test_every_flavour_chosen_automatically_has_pins() -> None:
    """Whatever auto picks for a supported Python on a supported platform can be installed."""
    drivers = [None, nvidia("550.54.15"), nvidia("580.65.06")]
    for platform in installer._EVERYWHERE:
        for minor in range(9, 14 if platform == "macos-x86_64" else 15):
            for driver in drivers:
                flavour = installer.choose_flavour("auto", platform, (3, minor), driver)
                packages = installer.pins_for(flavour.wheels, (3, minor), platform)
                assert installer.onnxruntime_package(packages).startswith("onnxruntime"), (platform, minor)


def test_pins_for_this_debian_obs() -> None:
    packages = installer.pins_for("cpu", (3, 11), "linux-x86_64")
    assert packages["onnxruntime"] == "1.32.0"
    assert installer.requirement_strings(packages)[0] == "onnxruntime==1.32.0"
    gpu = installer.pins_for("cuda13", (3, 11), "linux-x86_64")
    assert installer.requirement_strings(gpu)[0] == "onnxruntime-gpu[cuda,cudnn]==1.31.1"
    with pytest.raises(installer.InstallError, match=r"no pinned cpu wheels for Python 3\.8"):
        installer.pins_for("cpu", (3, 8), "linux-x86_64")


# --- the record, running OBS, the scene collection, v4l2loopback --------------------------------------
def test_record_comparison() -> None:
    python = installer.ObsPython(Path("/usr/bin/python3.11"), (3, 11), "test", "linux-x86_64")
    flavour = installer.Flavour("cpu", "test")
    wanted = installer.wanted_record(python, flavour, {"onnxruntime": "1.32.0"})
    assert installer.record_matches({**wanted, "installed_at": "then"}, wanted)
    assert not installer.record_matches({**wanted, "flavour": "cuda13"}, wanted)
    assert not installer.record_matches(None, wanted)


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

    assert sorted(installer.linux_obs_processes(config, proc)) == [100, 104]


def test_script_is_added_to_the_collection_once_with_a_backup(tmp_path: Path) -> None:
    collection = touch(tmp_path / "Untitled.json", json.dumps({"name": "Untitled", "sources": []}))
    original = collection.read_bytes()

    added, backup = installer.add_script_to_collection(collection, "linux")

    assert added and backup is not None and backup.read_bytes() == original
    assert backup.name.startswith("Untitled.json.obs-blur-backup-")
    entries = json.loads(collection.read_text())["modules"]["scripts-tool"]
    assert entries == [{"path": str(installer.SCRIPT_PATH), "settings": {}}]
    assert installer.add_script_to_collection(collection, "linux") == (False, None)
    assert len(list(tmp_path.iterdir())) == 2


def test_windows_collection_paths_use_forward_slashes() -> None:
    assert "\\" not in installer.script_entry_path("windows")


def test_scene_collection_from_global_ini(tmp_path: Path) -> None:
    touch(tmp_path / "global.ini", "[Basic]\nSceneCollection=My Show\nSceneCollectionFile=My_Show\n")
    with pytest.raises(installer.InstallError, match="does not exist"):
        installer.scene_collection_file(tmp_path)
    path = touch(tmp_path / "basic" / "scenes" / "My_Show.json", "{}")
    assert installer.scene_collection_file(tmp_path) == path
    with pytest.raises(installer.InstallError, match="start OBS once"):
        installer.scene_collection_file(tmp_path / "fresh")


def test_v4l2loopback_loaded_missing_and_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "module" / "v4l2loopback").mkdir(parents=True)
    assert installer.v4l2loopback_status(tmp_path) == ("v4l2loopback is loaded: the virtual camera works", True)

    def modinfo_fails(command: list[str], timeout: float = 60) -> object:
        return installer.subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(installer, "_run", modinfo_fails)
    status, fine = installer.v4l2loopback_status(tmp_path / "none")
    assert not fine
    assert "sudo apt install v4l2loopback-dkms" in status
    assert 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="OBS Virtual Camera"' in status
