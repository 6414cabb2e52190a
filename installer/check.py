"""--check: a diagnosis of OBS, its Python, the private folder, the provider that runs and the script in OBS,
changing nothing."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import detect, gpu, obs_config, pins, record, scene_collection, verify
from .common import InstallError
from .obs_python import ObsPython
from .platforms import linux, macos
from .repo import SCRIPT_PATH, paths
from .verify import Verification


@dataclass
class CheckReport:
    """Lines of the diagnosis and what keeps obs-blur from running."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, text: str, problem: Optional[str] = None) -> None:
        """One line of the report; ``problem``, when given, also keeps the status from "ready"."""
        self.lines.append((label, text))
        if problem:
            self.problems.append(problem)

    def print(self) -> None:
        """The lines as a two-column table, then the status: ready, or what is wrong."""
        for label, text in self.lines:
            print(f"{label:<18}{text}")
        print(f"{'status':<18}" + ("ready" if not self.problems else "NOT READY: " + "; ".join(self.problems)))


def check(arguments: argparse.Namespace) -> int:
    """Diagnose without changing anything: OBS, its Python, the private folder, provider, paths."""
    system = paths.current_system()
    print("obs-blur check (a diagnosis: nothing is installed, changed or removed)")
    report = CheckReport()
    program = detect.obs_program(system)
    report.add("OBS Studio", detect.describe_obs_program(program), None if program else "OBS not found")
    config_dir = obs_config.obs_config_dir(system, os.environ, Path.home())
    report.add("OBS config", str(config_dir) + ("" if config_dir.is_dir() else " (not created yet)"))
    if system != "linux":
        report.add("OBS version", detect.obs_release(system, program, config_dir).describe())
    try:
        python = detect.find_obs_python(arguments.obs_python)
    except InstallError as error:
        for number, line in enumerate(str(error).splitlines()):
            report.add("" if number else "OBS's Python", line)
        report.problems.append("no Python for OBS")
        check_paths(report, {})
        report.print()
        return 1
    report.add("OBS's Python", f"{python.executable} ({python.version[0]}.{python.version[1]}; {python.found_by})")
    if system == "macos":
        check_architecture(report, python, detect.obs_architecture(system))
    folder = paths.private_dependency_folder(python.tag)
    verification = check_folder(report, python, folder)
    check_gpu(report, system, python)
    check_paths(report, verification.paths if verification else {})
    check_script(report, config_dir)
    if system == "linux":
        status, _ = linux.v4l2loopback_status()
        report.add("virtual camera", status)
    report.print()
    return 1 if report.problems else 0


def check_architecture(report: CheckReport, python: ObsPython, obs_architecture: Optional[str]) -> None:
    """Whether OBS and its Python, as the installer runs it, are the same architecture (macOS)."""
    report.add("architecture", f"OBS runs as {obs_architecture or 'unknown'}, its Python here as "
               f"{python.platform.partition('-')[2]}", macos.architecture_problem(python, obs_architecture))


def check_folder(report: CheckReport, python: ObsPython, folder: Path) -> Optional[Verification]:
    """The private folder, its record, what imports from it, and the provider that runs."""
    if not folder.is_dir():
        report.add("private folder", f"{folder} (missing)", "dependencies not installed: run python3 install.py")
        return None
    recorded = record.read_record(folder)
    report.add("private folder", f"{folder} ({describe_record(recorded)})")
    built_for = recorded.get("platform") if recorded else None
    if built_for and built_for != python.platform:
        report.add("", f"installed for {built_for}", f"{folder} holds wheels for {built_for} but OBS's Python runs "
                   f"as {python.platform}: run python3 install.py to replace them")
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe:
        report.add("permissions", unsafe, f"the script refuses a folder others could plant code in: {unsafe}")
    verification = verify.verify_dependencies(python, folder)
    problems = verification.problems()
    report.add("imports", verification.summary() + (": ok" if not problems else ""),
               "; ".join(problems) if problems else None)
    session = verification.session or {}
    if "error" in session:
        report.add("default model", session["error"])
    if "describe" in session:
        report.add("default model", f"{session['model']} ({session['file']}): loads")
        report.add("provider", session["describe"])
        for line in verification.provider_lines(recorded.get("flavour") if recorded else None)[1:]:
            report.add("", line)
        report.add("available", ", ".join(session.get("available", [])))
    return verification


def describe_record(recorded: Optional[Mapping[str, Any]]) -> str:
    """What the record says is installed, for the private folder's line."""
    if not recorded:
        return "no record (installed by an older install.py)"
    return (f"{recorded.get('flavour')} flavour, {pins.onnxruntime_package(recorded.get('packages', {}))}, "
            f"installed {recorded.get('installed_at')}")


def check_gpu(report: CheckReport, system: str, python: ObsPython) -> None:
    """The NVIDIA driver found, and the flavour an install would choose with it."""
    nvidia, note = gpu.detect_nvidia(system)
    try:
        flavour = gpu.choose_flavour("auto", python.platform, python.version, nvidia)
        report.add("GPU", f"{note}; install.py would choose the {flavour.name} flavour")
    except InstallError as error:
        report.add("GPU", f"{note}; {error}")


def check_paths(report: CheckReport, reported: Mapping[str, str]) -> None:
    """Model, download and cache folders: as OBS's Python computed them, else from obs_blur.paths here."""
    folders = dict(reported) if "models" in reported else local_obs_blur_paths()
    models = Path(folders["models"])
    manifest = models / "manifest.json"
    report.add("models", f"{models}" + ("" if manifest.is_file() else " (manifest.json missing)"),
               None if manifest.is_file() else f"{manifest} missing")
    downloads = Path(folders["downloads"])
    count = len(list(downloads.glob("*.onnx"))) if downloads.is_dir() else 0
    report.add("BodyPix downloads", f"{downloads} ({count} model file{'s' if count != 1 else ''})")
    report.add("TensorRT cache", f"{folders['tensorrt']}")


def local_obs_blur_paths() -> dict[str, str]:
    """obs_blur.paths computed in this process (stdlib only), for when OBS's Python cannot run it."""
    return {"models": str(paths.shipped_models_dir()), "downloads": str(paths.downloaded_models_dir()),
            "tensorrt": str(paths.tensorrt_cache_dir())}


def check_script(report: CheckReport, config_dir: Path) -> None:
    """Whether the current scene collection loads the script; how to add it when not."""
    try:
        collection = scene_collection.scene_collection_file(config_dir)
        added = scene_collection.collection_has_script(json.loads(collection.read_text(encoding="utf-8-sig")))
    except (InstallError, OSError, ValueError) as error:
        report.add("script in OBS", f"unknown: {str(error).rstrip('.')}; or add {SCRIPT_PATH} in Tools > Scripts")
        return
    report.add("script in OBS", f"{'added to' if added else 'not in'} {collection}"
               + ("" if added else f": add {SCRIPT_PATH} in Tools > Scripts, or use --add-to-obs"))
