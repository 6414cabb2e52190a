"""install.py: finding OBS's Python, the private folder rules, verification, and doing nothing twice."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import pydeps_for_tests, require_obs
from .harness import REPO_ROOT

INSTALLER = REPO_ROOT / "install.py"


def load_installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("obs_blur_installer", INSTALLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


installer = load_installer()


def test_runs_with_the_standard_library_only() -> None:
    """-I: no site-packages, no PYTHONPATH: what a fresh machine's python3 has."""
    result = subprocess.run([sys.executable, "-I", str(INSTALLER), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--obs-python" in result.stdout


def test_private_folder_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBS_BLUR_PYDEPS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert installer.private_dependency_folder("cp311") == tmp_path / "obs-blur" / "pydeps" / "cp311"
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(tmp_path / "elsewhere"))
    assert installer.private_dependency_folder("cp311") == tmp_path / "elsewhere"


def test_finds_the_python_obs_embeds() -> None:
    require_obs()
    python = installer.find_obs_python(None)
    assert python.executable.is_file()
    assert "links libpython" in python.found_by
    assert python.tag == f"cp{python.version[0]}{python.version[1]}"


def test_verification_rejects_modules_from_outside_the_folder(tmp_path: Path) -> None:
    verification = installer.Verification(
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


def test_second_run_does_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """tools/run_tests.sh installs into .cache first; here everything is in place, so nothing happens."""
    require_obs()
    folder = pydeps_for_tests()
    if folder is None:
        pytest.fail("no test dependency folder: run `bash tools/run_tests.sh`, or install.py with OBS_BLUR_PYDEPS set")
    monkeypatch.setenv("OBS_BLUR_PYDEPS", str(folder))

    assert installer.main(["--yes"]) == 0

    output = capsys.readouterr().out
    assert "Nothing to do." in output
    assert "numpy" in output and "onnxruntime" in output and "cv2" in output
