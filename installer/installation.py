"""The default run: the pinned wheels for OBS's Python installed (or found in place) and verified, then
--add-to-obs when asked, and the next steps in OBS."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from . import detect, gpu, obs_config, pins, pip_install, record, scene_collection, verify
from .common import InstallError
from .gpu import Flavour, NvidiaDriver
from .obs_python import ObsPython
from .platforms import flatpak, linux, macos
from .repo import SCRIPT_PATH, paths
from .verify import Verification


def install(arguments: argparse.Namespace) -> int:
    """Install (or find already in place) the wheels for OBS's Python, then optionally add the script."""
    system = paths.current_system()
    python = detect.find_obs_python(arguments.obs_python)
    folder = paths.private_dependency_folder(python.tag)
    describe_python(python, folder)
    problem = macos.architecture_problem(python, detect.obs_architecture(system))
    if problem:
        raise InstallError(problem)
    nvidia, gpu_note = gpu.detect_nvidia(system)
    flavour = gpu.choose_flavour(arguments.device, python.platform, python.version, nvidia)
    packages = pins.pins_for(flavour.wheels, python.version, python.platform, macos.host_version(system))
    print(f"GPU: {gpu_note}")
    print(f"Flavour: {flavour.name} ({flavour.reason}): {pins.onnxruntime_package(packages)}")
    recovered = pip_install.recover_interrupted_swap(folder)
    if recovered:
        print(recovered)
    if folder.exists() and not record.looks_like_dependency_folder(folder):
        raise InstallError(f"{folder} exists and is not an obs-blur dependency folder: refusing to replace it. "
                           "Move it away, or point OBS_BLUR_PYDEPS elsewhere.")
    wanted = record.wanted_record(python, flavour, packages)
    verification = None if arguments.reinstall else already_in_place(python, folder, wanted)
    if verification is None:
        try:
            verification = replace_install(python, folder, packages, wanted, arguments.wheelhouse)
        except KeyboardInterrupt:
            print(f"\nInterrupted. {pip_install.untouched_message(folder, folder.exists())}", file=sys.stderr)
            return 130
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe:
        raise InstallError(f"installed, but the script will refuse {folder} because {unsafe}")
    report_verification(verification, flavour, nvidia, gpu_note)
    return finish_with_obs(arguments, system, folder)


def describe_python(python: ObsPython, folder: Path) -> None:
    """The interpreter installed for and the folder installed into: the first thing a user checks."""
    print(f"OBS's Python: {python.executable} ({python.version[0]}.{python.version[1]}; {python.found_by})")
    print(f"Private dependency folder: {folder}")


def already_in_place(python: ObsPython, folder: Path, wanted: Mapping[str, Any]) -> Optional[Verification]:
    """The verified install when the record says it is what this run wants: then there is nothing to do."""
    if not record.record_matches(record.read_record(folder), wanted):
        return None
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe and paths.unsafe_code_folder(folder.parent) is None:  # a fresh private folder mends it
        print(f"The install in place could be changed by other users ({unsafe}): installing it again, private.")
        return None
    verification = verify.verify_dependencies(python, folder)
    if verification.problems():
        print("The install in place is recorded as complete but fails its check, so it is replaced:\n  "
              + "\n  ".join(verification.problems()))
        return None
    print(f"Already installed and verified: {verification.summary()}. Nothing to do.")
    return verification


def replace_install(python: ObsPython, folder: Path, packages: Mapping[str, str], wanted: Mapping[str, Any],
                    wheelhouse: Optional[Path]) -> Verification:
    """A new verified install in place of whatever is there; on failure, says that nothing changed."""
    existed = folder.exists()
    previous = record.read_record(folder)
    if previous:
        built_for = previous.get("platform")
        other = f" for {built_for}, not {python.platform}" if built_for not in (None, python.platform) else ""
        print(f"Replacing the {previous.get('flavour')} install "
              f"({pins.onnxruntime_package(previous.get('packages', {}))}{other}); it stays in place until the new "
              "one is verified.")
    try:
        verification = pip_install.install_verified(python, folder, packages, wanted, wheelhouse)
    except InstallError as error:
        raise InstallError(f"{error}\n{pip_install.untouched_message(folder, existed)}") from None
    print(f"Installed and verified: {verification.summary()}.")
    return verification


def report_verification(verification: Verification, flavour: Flavour, nvidia: Optional[NvidiaDriver],
                        gpu_note: str) -> None:
    """The provider that runs; for a CUDA flavour on the CPU, the driver finding is the likely cause."""
    lines = verification.provider_lines(flavour.name)
    for line in lines:
        print(line)
    if len(lines) > 1 and flavour.name.startswith("cuda") and nvidia is None:
        print(f"Likely cause: {gpu_note}. Install NVIDIA's driver (580 or newer for CUDA 13), then run --check.")


def finish_with_obs(arguments: argparse.Namespace, system: str, folder: Path) -> int:
    """--add-to-obs (when asked), then the next steps."""
    script_added = False
    status = 0
    if arguments.add_to_obs:
        try:
            config_dir = obs_config.obs_config_dir(system, os.environ, Path.home())
            print(scene_collection.add_to_obs(system, config_dir), flush=True)
            script_added = True
        except InstallError as error:
            print(f"install.py: {error}", file=sys.stderr, flush=True)
            status = 1
    print_next_steps(folder, script_added, system)
    return status


def print_next_steps(folder: Path, script_added: bool, system: str) -> None:
    """What to do in OBS now: add the script (unless done), the filter, the virtual camera."""
    print("\nNext, in OBS Studio:")
    if script_added:
        print(f"  1. Start OBS: {SCRIPT_PATH.name} is already added to the scene collection (Tools > Scripts lists it)")
    else:
        print(f"  1. Tools > Scripts > + and choose {SCRIPT_PATH}")
        print("     (or close OBS and run: python3 install.py --add-to-obs)")
    print("  2. On your camera source: Filters > + > Background Blur")
    print("  3. Start Virtual Camera (Controls dock), then pick \"OBS Virtual Camera\" in your meeting app.")
    if system == "linux":
        status, fine = linux.v4l2loopback_status()
        if not fine:
            print(f"     Linux: {status}")
    if os.environ.get("OBS_BLUR_PYDEPS") and flatpak.APP_ID not in str(folder):
        print(f"  (OBS_BLUR_PYDEPS is set: start OBS with OBS_BLUR_PYDEPS={folder} too, or the script misses it.)")
