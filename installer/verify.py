"""Proof in OBS's own interpreter that the wheels in a folder import from there and the default model loads.

The report names the execution provider that will really run, so a GPU flavour that falls back to
the CPU says so, and why.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import common
from .common import InstallError
from .obs_python import ObsPython
from .repo import REPO_ROOT

# Module to import when verifying -> why it is there.
IMPORTS = {"numpy": "numpy", "cv2": "opencv-python-headless", "onnxruntime": "onnxruntime"}
# Runs inside OBS's interpreter: imports from the private folder, then loads the default model the
# way the filter does (and checks the file of the other model ``auto`` runs), and prints one JSON line.
_VERIFY_SNIPPET = """
import importlib, json, sys
folder, repo, device = sys.argv[1:4]
sys.path.insert(0, folder)
report = {"modules": {}, "session": None, "paths": {}}
for name in sys.argv[4:]:
    try:
        module = importlib.import_module(name)
        report["modules"][name] = {"version": getattr(module, "__version__", "?"), "file": module.__file__ or ""}
    except Exception as error:
        report["modules"][name] = {"error": type(error).__name__ + ": " + str(error)}
sys.path.insert(1, repo)
try:
    from obs_blur import paths
    report["paths"] = {"models": str(paths.shipped_models_dir()), "downloads": str(paths.downloaded_models_dir()),
                       "tensorrt": str(paths.tensorrt_cache_dir())}
except Exception as error:
    report["paths"] = {"error": type(error).__name__ + ": " + str(error)}
if all("error" not in result for result in report["modules"].values()):
    try:
        import onnxruntime
        from obs_blur.model_choice import AUTO, SQUARE_MODEL, WIDE_MODEL, auto_offered
        from obs_blur.segmentation.families import model_path
        from obs_blur.segmentation.manifest import load_manifest
        from obs_blur.segmentation.providers import create_session
        manifest = load_manifest()
        model = model_path(manifest.get(None), download=False)
        session = create_session(model, device)
        name = manifest.default
        if auto_offered(manifest.names):  # the filter's default, auto, also runs the square model
            model_path(manifest.get(SQUARE_MODEL), download=False)
            name = AUTO + ": " + WIDE_MODEL + " or " + SQUARE_MODEL
        report["session"] = {"model": name, "file": str(model), "provider": session.provider_short,
                             "describe": session.describe(), "notes": session.notes,
                             "available": list(onnxruntime.get_available_providers())}
    except Exception as error:
        report["session"] = {"error": type(error).__name__ + ": " + str(error).strip().splitlines()[0][:300]}
print(json.dumps(report))
"""


def _is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder``, links resolved: a module imported from elsewhere is not ours."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Verification:
    """What importing the dependencies from the private folder and loading the default model gave."""

    modules: dict[str, dict[str, str]]
    folder: Path
    session: Optional[dict[str, Any]] = None
    paths: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Everything that stops the filter: failed or foreign imports, two onnxruntimes, no session."""
        found = []
        for name, result in self.modules.items():
            if "error" in result:
                found.append(f"{name}: {result['error']}")
            elif not _is_inside(Path(result["file"]), self.folder):
                found.append(f"{name}: imported from {result['file']}, not from {self.folder}")
        flavours = onnxruntime_distributions(self.folder)
        if len(flavours) > 1:
            found.append(f"{self.folder} holds {len(flavours)} onnxruntime flavours ({', '.join(flavours)}): "
                         "they overwrite each other's files; reinstall with --reinstall")
        if any("incompatible architecture" in result.get("error", "") for result in self.modules.values()):
            found.append(f"the wheels in {self.folder} are for another CPU architecture (Apple Silicon arm64 or "
                         "Intel x86_64) than OBS's Python runs as: run python3 install.py to replace them")
        if self.session and "error" in self.session:
            found.append(f"the default model does not load: {self.session['error']}")
        return found

    def summary(self) -> str:
        """The modules and their versions, for one line of output."""
        return ", ".join(f"{name} {result.get('version', '?')}" for name, result in self.modules.items())

    def provider_lines(self, flavour: Optional[str]) -> list[str]:
        """The provider that will really run and, when the GPU one will not, why (from describe())."""
        if not self.session or "error" in self.session:
            return []
        lines = [f"The default model ({self.session['model']}) runs on: {self.session['describe']}"]
        gpu_flavour = flavour not in (None, "cpu")
        if gpu_flavour and self.session["provider"] == "CPU":
            why = "; ".join(self.session.get("notes") or []) or "onnxruntime chose the CPU"
            lines.append(f"The GPU will NOT be used ({flavour} flavour installed): {why}. "
                         "The filter works on the CPU meanwhile; `python3 install.py --check` shows this again.")
        return lines


def onnxruntime_distributions(folder: Path) -> list[str]:
    """The onnxruntime wheels installed in ``folder`` (there must be exactly one)."""
    return sorted(path.name.split("-")[0] for path in folder.glob("onnxruntime*.dist-info"))


def verify_dependencies(python: ObsPython, folder: Path, device: str = "auto") -> Verification:
    """Import every dependency in OBS's interpreter with ``folder`` first on sys.path, then load the model.

    ``-E -s`` keeps PYTHONPATH and the user's site-packages out, ``-B`` writes no bytecode, and
    ORT_DISABLE_TELEMETRY stops onnxruntime's PyPI builds from writing a device id and event queue
    under ~/.cache/Microsoft (and sending them): ``--check`` changes nothing. The model loads through
    obs_blur.segmentation.providers, the code the filter itself runs.
    """
    command = [str(python.executable), "-E", "-s", "-B", "-c", _VERIFY_SNIPPET, str(folder), str(REPO_ROOT), device,
               *IMPORTS]
    result = common.run_command(command, timeout=300, env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise InstallError(f"verification could not run in {python.executable}:\n{result.stderr.strip()[-2000:]}")
    report = json.loads(lines[-1])
    return Verification(report["modules"], folder, report.get("session"), report.get("paths") or {})
