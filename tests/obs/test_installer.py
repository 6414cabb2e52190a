"""install.py against Debian's real OBS: finding its Python, installing, doing nothing twice, --check,
a failure midway, --add-to-obs next to a running "obs", and --uninstall.

One real install (offline, from a wheelhouse that ``pip download`` fills once and the pytest cache
keeps) goes into a temporary HOME with its own XDG folders and is reused by the tests after it; the
last test uninstalls it. The swap logic itself is also tested without pip, with its failure points
faked, which is how Ctrl+C midway is covered.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import pydeps_for_tests, require_obs
from .harness import REPO_ROOT
from .script_modules import INSTALLER, load_installer

installer = load_installer()


def test_runs_with_the_standard_library_only() -> None:
    """-I: no site-packages, no PYTHONPATH: what a fresh machine's python3 has."""
    result = subprocess.run([sys.executable, "-I", str(INSTALLER), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for flag in ("--obs-python", "--check", "--uninstall", "--purge", "--wheelhouse", "--add-to-obs", "--device"):
        assert flag in result.stdout


def test_private_folder_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBS_BLUR_PYDEPS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert installer.repo.paths.private_dependency_folder("cp311") == tmp_path / "obs-blur" / "pydeps" / "cp311"
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(tmp_path / "elsewhere"))
    assert installer.repo.paths.private_dependency_folder("cp311") == tmp_path / "elsewhere"


def test_finds_the_python_obs_embeds() -> None:
    require_obs()
    python = installer.detect.find_obs_python(None)
    assert python.executable.is_file()
    assert "links libpython" in python.found_by
    assert python.tag == f"cp{python.version[0]}{python.version[1]}"
    assert python.platform.startswith("linux-")


def test_verification_rejects_modules_from_outside_the_folder(tmp_path: Path) -> None:
    verification = installer.verify.Verification(
        {
            "numpy": {"version": "2.0", "file": str(tmp_path / "numpy" / "__init__.py")},
            "cv2": {"version": "4.9", "file": "/usr/lib/python3/dist-packages/cv2/__init__.py"},
            "onnxruntime": {"error": "ModuleNotFoundError: No module named 'onnxruntime'"},
        },
        tmp_path,
    )
    problems = verification.problems()
    assert len(problems) == 2
    assert problems[0].startswith("cv2: imported from /usr/lib/python3/dist-packages")
    assert problems[1].startswith("onnxruntime: ModuleNotFoundError")


def test_verification_rejects_two_onnxruntime_flavours_and_a_model_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "onnxruntime-1.32.0.dist-info").mkdir()
    (tmp_path / "onnxruntime_gpu-1.31.1.dist-info").mkdir()
    verification = installer.verify.Verification({}, tmp_path, {"error": "ObsBlurError: model file missing"})
    problems = verification.problems()
    assert "2 onnxruntime flavours (onnxruntime, onnxruntime_gpu)" in problems[0]
    assert problems[1] == "the default model does not load: ObsBlurError: model file missing"


def test_the_gpu_that_will_not_run_is_named_with_its_reason(tmp_path: Path) -> None:
    session = {"model": "mediapipe-landscape", "provider": "CPU", "describe": "CPU (CUDA could not start)",
               "notes": ["CUDA could not start (its CUDA/cuDNN libraries missing?)"]}
    lines = installer.verify.Verification({}, tmp_path, session).provider_lines("cuda13")
    assert lines[0] == "The default model (mediapipe-landscape) runs on: CPU (CUDA could not start)"
    assert "GPU will NOT be used (cuda13 flavour installed): CUDA could not start" in lines[1]
    assert len(installer.verify.Verification({}, tmp_path, session).provider_lines("cpu")) == 1


def test_second_run_does_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """tools/run_tests.sh installs into .cache first; here everything is in place, so nothing happens."""
    require_obs()
    folder = pydeps_for_tests()
    if folder is None:
        pytest.fail("no test dependency folder: run `bash tools/run_tests.sh`, or install.py with OBS_BLUR_PYDEPS set")
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(folder))

    assert installer.cli.main(["--yes"]) == 0

    output = capsys.readouterr().out
    assert "Nothing to do." in output
    assert "numpy" in output and "onnxruntime" in output and "cv2" in output


# --- the swap, without pip: every failure point leaves the previous install as it was ---------------
@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """pip "installs" a marker file; verification passes unless told otherwise; failures on request."""
    behaviour: dict[str, Any] = {"fail_with": None, "problem": None}

    def run_pip(command: list[str], packages: dict[str, str], target: Path) -> None:
        (target / "onnxruntime").mkdir()
        (target / "onnxruntime" / "new.txt").write_text("new")
        if behaviour["fail_with"] is not None:
            raise behaviour["fail_with"]

    def verify(python: Any, folder: Path, device: str = "auto") -> Any:
        modules = {"onnxruntime": {"error": behaviour["problem"]}} if behaviour["problem"] else {}
        return installer.verify.Verification(modules, folder, {"describe": "CPU"})

    monkeypatch.setattr(installer.pip_install, "pip_command", lambda python: ["pip"])
    monkeypatch.setattr(installer.pip_install, "run_pip", run_pip)
    monkeypatch.setattr(installer.verify, "verify_dependencies", verify)
    return behaviour


def previous_install(tmp_path: Path) -> Path:
    folder = tmp_path / "pydeps" / "cp311"
    (folder / "onnxruntime").mkdir(parents=True)
    (folder / "onnxruntime" / "old.txt").write_text("old")
    (folder / installer.record.RECORD_NAME).write_text('{"flavour": "old"}')
    return folder


def swap_attempt(folder: Path) -> Any:
    python = installer.obs_python.ObsPython(Path(sys.executable), (3, 11), "test", "linux-x86_64")
    return installer.pip_install.install_verified(python, folder, {"onnxruntime": "1.32.0"}, {"flavour": "cpu"}, None)


def assert_previous_untouched(folder: Path) -> None:
    assert sorted(p.name for p in (folder / "onnxruntime").iterdir()) == ["old.txt"]
    assert json.loads((folder / installer.record.RECORD_NAME).read_text()) == {"flavour": "old"}
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name], "temporary folders left behind"


def test_swap_replaces_the_previous_install_only_after_verification(tmp_path: Path, fake_pip: dict) -> None:
    folder = previous_install(tmp_path)
    swap_attempt(folder)
    assert sorted(p.name for p in (folder / "onnxruntime").iterdir()) == ["new.txt"]
    assert json.loads((folder / installer.record.RECORD_NAME).read_text())["flavour"] == "cpu"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["cp311"]


@pytest.mark.parametrize(
    ("failure", "problem", "raised"),
    [
        (installer.common.InstallError("pip could not install"), None, installer.common.InstallError),
        (KeyboardInterrupt(), None, KeyboardInterrupt),
        (None, "ImportError: libfoo.so", installer.common.InstallError),
    ],
    ids=["pip-fails", "ctrl-c-during-pip", "verification-fails"],
)
def test_a_failure_midway_leaves_the_previous_install(tmp_path: Path, fake_pip: dict, failure: Any,
                                                      problem: Any, raised: type) -> None:
    folder = previous_install(tmp_path)
    fake_pip.update(fail_with=failure, problem=problem)
    with pytest.raises(raised):
        swap_attempt(folder)
    assert_previous_untouched(folder)


def test_a_run_killed_between_the_renames_is_repaired_by_the_next(tmp_path: Path) -> None:
    folder = previous_install(tmp_path)
    folder.rename(folder.with_name(".cp311.previous-4242"))
    (folder.parent / ".cp311.staging-4242").mkdir()
    assert installer.pip_install.recover_interrupted_swap(folder) == f"Restored {folder} from an interrupted run."
    assert_previous_untouched(folder)


def test_purge_never_deletes_folders_that_are_not_obs_blurs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """OBS_BLUR_DATA/OBS_BLUR_CACHE may point at any folder; --purge leaves those alone."""
    monkeypatch.setenv("OBS_BLUR_DATA", str(tmp_path / "my-data"))
    monkeypatch.setenv("OBS_BLUR_CACHE", str(tmp_path / "my-cache"))
    (tmp_path / "my-data" / "models").mkdir(parents=True)
    (tmp_path / "my-cache").mkdir()
    assert installer.uninstall.purge_targets() == []
    assert capsys.readouterr().out.count("it is not an obs-blur folder") == 2


# --- one real install into a temporary HOME ---------------------------------------------------------
@dataclass(frozen=True)
class User:
    """A temporary HOME with its own XDG folders, and the environment install.py runs in."""

    home: Path
    env: dict[str, str]
    folder: Path

    @property
    def config(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "obs-studio"


@pytest.fixture(scope="module")
def obs_python() -> Any:
    require_obs()
    return installer.detect.find_obs_python(None)


@pytest.fixture(scope="module")
def wheelhouse(request: pytest.FixtureRequest, obs_python: Any) -> Path:
    """The CPU wheels for OBS's Python, downloaded once (kept in the pytest cache across sessions)."""
    folder = Path(request.config.cache.mkdir(f"obs-blur-wheelhouse-{obs_python.tag}"))
    packages = installer.pins.pins_for("cpu", obs_python.version, obs_python.platform)
    download = [*installer.pip_install.pip_command(obs_python), "download", "--only-binary=:all:",
                "--disable-pip-version-check", "--dest", str(folder), *installer.pins.requirement_strings(packages)]
    offline = subprocess.run([*download, "--no-index", "--find-links", str(folder)], capture_output=True, text=True)
    if offline.returncode != 0:
        online = subprocess.run(download, capture_output=True, text=True, timeout=600)
        assert online.returncode == 0, f"pip download failed (PyPI needed once):\n{online.stderr[-3000:]}"
    return folder


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory, obs_python: Any) -> User:
    """No OBS_BLUR_* overrides, no pip config, and proxies that lead nowhere: offline means offline."""
    home = tmp_path_factory.mktemp("home")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OBS_BLUR_", "PIP_")) and key.lower() not in ("http_proxy", "https_proxy")}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PIP_CONFIG_FILE=os.devnull,
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
    )
    return User(home, env, home / ".local" / "share" / "obs-blur" / "pydeps" / obs_python.tag)


def run_installer(user: User, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(INSTALLER), *arguments], env=user.env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(user: User, wheelhouse: Path) -> subprocess.CompletedProcess:
    """The first install, under umask 000: pip then creates every file writable by everyone, and the
    installer must take that away (the script refuses a folder other users could plant code in)."""
    umask = os.umask(0)
    try:
        result = run_installer(user, "--wheelhouse", str(wheelhouse), "--device", "cpu")
    finally:
        os.umask(umask)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_offline_install_from_a_wheelhouse(installed: subprocess.CompletedProcess, user: User, obs_python: Any,
                                           wheelhouse: Path) -> None:
    assert f"--no-index --find-links {wheelhouse}" in installed.stdout
    assert f"Private dependency folder: {user.folder}" in installed.stdout
    assert "Installed and verified: numpy" in installed.stdout
    assert "The default model (auto: mediapipe-landscape or mediapipe-general) runs on: CPU" in installed.stdout
    record = json.loads((user.folder / installer.record.RECORD_NAME).read_text())
    assert record["flavour"] == "cpu" and record["python_tag"] == obs_python.tag
    assert record["packages"] == installer.pins.pins_for("cpu", obs_python.version, obs_python.platform)
    assert installer.verify.onnxruntime_distributions(user.folder) == ["onnxruntime"]
    writable = [path for path in (user.folder, *user.folder.rglob("*"))
                if not path.is_symlink() and path.stat().st_mode & 0o022]
    assert writable == [], f"{len(writable)} files writable by group or others, e.g. {writable[:3]}"
    assert sorted(p.name for p in user.folder.parent.iterdir()) == [obs_python.tag]
    assert f"Tools > Scripts > + and choose {installer.repo.SCRIPT_PATH}" in installed.stdout
    assert "Filters > + > Background Blur" in installed.stdout
    assert "Start Virtual Camera" in installed.stdout


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its inode and modification time."""
    state = {".": (folder.stat().st_ino, folder.stat().st_mtime_ns)}
    for path in folder.rglob("*"):
        stat = path.lstat()
        state[str(path.relative_to(folder))] = (stat.st_ino, stat.st_mtime_ns)
    return state


def test_second_run_changes_nothing(installed: subprocess.CompletedProcess, user: User, wheelhouse: Path) -> None:
    before = folder_state(user.home)
    result = run_installer(user, "--wheelhouse", str(wheelhouse), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "Nothing to do." in result.stdout
    assert "Running:" not in result.stdout
    assert folder_state(user.home) == before


def test_a_missing_model_of_auto_fails_the_verification(
        installed: subprocess.CompletedProcess, user: User, obs_python: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto`` (the filter's default) runs the square model for portrait and 4:3 cameras: its file is
    checked as the default model's is, so the installer says so instead of the filter, later."""
    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    (models / "selfie_segmentation_general_256x256.onnx").unlink()
    monkeypatch.setenv("OBS_BLUR_MODELS", str(models))
    problems = installer.verify.verify_dependencies(obs_python, user.folder).problems()
    assert len(problems) == 1 and "selfie_segmentation_general_256x256.onnx" in problems[0], problems


def test_a_folder_others_can_write_is_reported_and_installed_again_private(
        installed: subprocess.CompletedProcess, user: User, wheelhouse: Path) -> None:
    user.folder.chmod(0o777)
    check = run_installer(user, "--check")
    assert f"{user.folder} is writable by every user (run: chmod o-w {user.folder})" in check.stdout
    assert check.returncode != 0

    result = run_installer(user, "--wheelhouse", str(wheelhouse), "--device", "cpu")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "could be changed by other users" in result.stdout and "installing it again, private" in result.stdout
    assert user.folder.stat().st_mode & 0o022 == 0


def test_check_diagnoses_without_changing_anything(installed: subprocess.CompletedProcess, user: User,
                                                   obs_python: Any) -> None:
    before = folder_state(user.home)
    result = run_installer(user, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout
    assert "OBS Studio        /usr/bin/obs (distribution package)" in lines
    assert f"OBS's Python      {obs_python.executable}" in lines
    assert f"private folder    {user.folder} (cpu flavour, onnxruntime " in lines
    assert "imports           numpy " in lines and ": ok" in lines
    assert "provider          CPU" in lines
    assert "default model     auto: mediapipe-landscape or mediapipe-general (" in lines
    assert f"models            {REPO_ROOT / 'models'}" in lines
    assert f"BodyPix downloads {user.env['XDG_DATA_HOME']}/obs-blur/models (0 model files)" in lines
    assert f"TensorRT cache    {user.env['XDG_CACHE_HOME']}/obs-blur/tensorrt" in lines
    assert "virtual camera    v4l2loopback" in lines
    assert lines.rstrip().endswith("status            ready")
    assert folder_state(user.home) == before


def test_a_broken_pip_midway_keeps_the_old_install_working(installed: subprocess.CompletedProcess, user: User,
                                                           wheelhouse: Path, tmp_path: Path) -> None:
    """A wheelhouse that lacks numpy: pip fails, and the install in place is the one that was there."""
    partial = tmp_path / "partial-wheelhouse"
    partial.mkdir()
    for wheel in wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("numpy-"):
            (partial / wheel.name).symlink_to(wheel)
    record = (user.folder / installer.record.RECORD_NAME).read_bytes()

    result = run_installer(user, "--reinstall", "--wheelhouse", str(partial), "--device", "cpu")

    assert result.returncode == 1
    assert "pip could not install onnxruntime 1.32.0" in result.stderr
    assert f"The previous install in {user.folder} is untouched" in result.stderr
    assert (user.folder / installer.record.RECORD_NAME).read_bytes() == record
    assert [p.name for p in user.folder.parent.iterdir()] == [user.folder.name]
    assert run_installer(user, "--check").returncode == 0


@pytest.fixture
def scene_collection(user: User) -> Iterator[Path]:
    """An OBS config whose current collection already loads another script."""
    scenes = user.config / "basic" / "scenes"
    scenes.mkdir(parents=True, exist_ok=True)
    (user.config / "global.ini").write_text("[Basic]\nSceneCollection=Meetings\nSceneCollectionFile=Meetings\n")
    collection = scenes / "Meetings.json"
    other = {"path": "/home/me/scripts/clock.py", "settings": {"format": "%H:%M"}}
    collection.write_text(json.dumps({"name": "Meetings", "sources": [], "modules": {"scripts-tool": [other]}}))
    yield collection
    shutil.rmtree(user.config)


def start_fake_obs(tmp_path: Path, config_home: Path) -> subprocess.Popen:
    """A process named ``obs`` (a copy of sleep) whose OBS config folder is ``config_home``/obs-studio."""
    program = tmp_path / "bin" / "obs"
    program.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", program)
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(config_home)}
    process = subprocess.Popen([str(program), "60"], env=env)
    comm = Path(f"/proc/{process.pid}/comm")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not comm.exists() or comm.read_text().strip() != "obs"):
        time.sleep(0.01)
    return process


def test_add_to_obs_refuses_while_obs_runs_then_adds_once(installed: subprocess.CompletedProcess, user: User,
                                                          wheelhouse: Path, scene_collection: Path,
                                                          tmp_path: Path) -> None:
    original = scene_collection.read_bytes()
    ours = start_fake_obs(tmp_path / "ours", Path(user.env["XDG_CONFIG_HOME"]))
    another = start_fake_obs(tmp_path / "another", tmp_path / "another-config")
    try:
        refused = run_installer(user, "--add-to-obs", "--wheelhouse", str(wheelhouse), "--device", "cpu")
    finally:
        ours.kill()
        ours.wait()
    try:
        assert refused.returncode == 1
        assert f"OBS is running (pid {ours.pid}) with the config in {user.config}" in refused.stderr
        assert "Close OBS" in refused.stderr
        assert scene_collection.read_bytes() == original
        assert list(scene_collection.parent.iterdir()) == [scene_collection]

        added = run_installer(user, "--add-to-obs", "--wheelhouse", str(wheelhouse), "--device", "cpu")
    finally:
        another.kill()
        another.wait()
    assert added.returncode == 0, added.stderr
    assert f"Added {installer.repo.SCRIPT_PATH} to the scene collection {scene_collection}" in added.stdout
    backups = list(scene_collection.parent.glob("Meetings.json.obs-blur-backup-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    scripts = json.loads(scene_collection.read_text())["modules"]["scripts-tool"]
    assert [entry["path"] for entry in scripts] == ["/home/me/scripts/clock.py", str(installer.repo.SCRIPT_PATH)]
    assert scripts[0]["settings"] == {"format": "%H:%M"}

    again = run_installer(user, "--add-to-obs", "--wheelhouse", str(wheelhouse), "--device", "cpu")
    assert again.returncode == 0
    assert "already added" in again.stdout
    assert len(list(scene_collection.parent.glob("Meetings.json.obs-blur-backup-*"))) == 1
    assert "script in OBS     added to" in run_installer(user, "--check").stdout


def test_uninstall_asks_then_removes_and_purges_downloads_and_caches(installed: subprocess.CompletedProcess,
                                                                     user: User) -> None:
    """Last in this file: it removes the install the tests above share."""
    downloads = Path(user.env["XDG_DATA_HOME"]) / "obs-blur" / "models" / "bodypix.onnx"
    engine = Path(user.env["XDG_CACHE_HOME"]) / "obs-blur" / "tensorrt" / "model.engine"
    unrelated = Path(user.env["XDG_DATA_HOME"]) / "another-app" / "keep.txt"
    for path in (downloads, engine, unrelated):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    unasked = run_installer(user, "--uninstall")
    assert unasked.returncode == 1 and "pass --yes" in unasked.stderr
    assert user.folder.is_dir()

    removed = run_installer(user, "--uninstall", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not user.folder.exists() and downloads.exists() and engine.exists()
    assert "--uninstall --purge removes them too" in removed.stdout

    purged = run_installer(user, "--uninstall", "--purge", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert not downloads.exists() and not engine.exists() and unrelated.exists()
    assert not (Path(user.env["XDG_DATA_HOME"]) / "obs-blur").exists()
    assert Path(user.env["XDG_CACHE_HOME"]).is_dir(), "a folder above obs-blur's own was removed"

    nothing = run_installer(user, "--uninstall", "--purge", "--yes")
    assert nothing.returncode == 0 and "Nothing to remove" in nothing.stdout
    check = run_installer(user, "--check")
    assert check.returncode == 1 and "NOT READY: dependencies not installed" in check.stdout
