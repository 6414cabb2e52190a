"""The GPU: which NVIDIA driver runs, and the onnxruntime flavour that ``--device`` asks for on this machine."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common
from .common import InstallError
from .pins import LINUX_X86, WINDOWS

# The values of --device: the accelerators whose onnxruntime wheels can be installed ("auto" picks
# from the GPU found).
FLAVOUR_DEVICES = ("auto", "cpu", "cuda", "directml", "coreml")


@dataclass(frozen=True)
class NvidiaDriver:
    """An NVIDIA driver that is installed and loaded, and the newest CUDA it runs."""

    version: str
    cuda_major: int
    source: str


def cuda_major_for_driver(version: str) -> int:
    """Newest CUDA major a driver runs: 13 needs >= 580, 12 needs >= 525 (NVIDIA's minimums)."""
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    return 13 if major >= 580 else 12 if major >= 525 else 11 if major >= 450 else 0


def parse_nvidia_smi(text: str) -> Optional[NvidiaDriver]:
    """From nvidia-smi's header: "Driver Version: 550.54.15   CUDA Version: 12.4"."""
    driver = re.search(r"Driver Version:\s*([\d.]+)", text)
    if not driver:
        return None
    cuda = re.search(r"CUDA Version:\s*(\d+)", text)
    cuda_major = int(cuda[1]) if cuda else cuda_major_for_driver(driver[1])
    return NvidiaDriver(driver[1], cuda_major, "nvidia-smi")


def parse_proc_nvidia_version(text: str) -> Optional[NvidiaDriver]:
    """From /proc/driver/nvidia/version: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15 ..."."""
    match = re.search(r"Kernel Module\s+([\d.]+)", text)
    return NvidiaDriver(match[1], cuda_major_for_driver(match[1]), "/proc/driver/nvidia/version") if match else None


def detect_nvidia(system: str, proc_root: Path = Path("/proc")) -> tuple[Optional[NvidiaDriver], str]:
    """A usable NVIDIA driver (nvidia-smi runs, or Linux's /proc file exists), and what was looked at."""
    smi = shutil.which("nvidia-smi")
    if smi:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            result = common.run_command([smi], timeout=30)
            driver = parse_nvidia_smi(result.stdout) if result.returncode == 0 else None
            if driver:
                return driver, f"NVIDIA driver {driver.version} (CUDA {driver.cuda_major}, from nvidia-smi)"
    version_file = proc_root / "driver" / "nvidia" / "version"
    if system == "linux" and version_file.is_file():
        driver = parse_proc_nvidia_version(version_file.read_text(errors="replace"))
        if driver:
            return driver, f"NVIDIA driver {driver.version} (from {version_file})"
    looked = "nvidia-smi " + ("failed" if smi else "not found")
    if system == "linux":
        looked += f", no {version_file}"
    return None, f"no NVIDIA driver ({looked})"


@dataclass(frozen=True)
class Flavour:
    """Which onnxruntime wheels to install, and why."""

    name: str
    reason: str

    @property
    def wheels(self) -> str:
        """The pin rows to use: CoreML ships inside the plain onnxruntime wheel."""
        return "cpu" if self.name == "coreml" else self.name


def choose_flavour(device: str, platform: str, version: tuple[int, int],
                   nvidia: Optional[NvidiaDriver]) -> Flavour:
    """The flavour for ``--device`` on this machine; impossible explicit requests are refused."""
    system = platform.split("-")[0]
    if device == "cpu":
        return Flavour("cpu", "--device cpu")
    if device == "coreml":
        if system != "macos":
            raise InstallError("--device coreml: CoreML exists only on macOS.")
        return Flavour("coreml", "--device coreml (CoreML is in the onnxruntime wheel)")
    if device == "directml":
        if system != "windows":
            raise InstallError("--device directml: DirectML exists only on Windows.")
        return Flavour("directml", "--device directml")
    if device == "cuda":
        return _cuda_flavour(platform, version, nvidia, explicit=True)
    if system == "macos":
        return Flavour("coreml", "macOS: CoreML, in the onnxruntime wheel")
    if nvidia is not None:
        return _cuda_flavour(platform, version, nvidia, explicit=False)
    if system == "windows":
        return Flavour("directml", "Windows without an NVIDIA driver: DirectML runs on any DirectX 12 GPU")
    return Flavour("cpu", "no NVIDIA GPU with a usable driver")


def _cuda_flavour(platform: str, version: tuple[int, int], nvidia: Optional[NvidiaDriver],
                  explicit: bool) -> Flavour:
    """CUDA 13 or 12 wheels to match the driver; the CPU (or an error when asked for) where none fit."""
    def refuse(why: str) -> Flavour:
        if explicit:
            raise InstallError(f"--device cuda: {why}")
        return Flavour("directml" if platform == WINDOWS else "cpu", f"{why}; installing the "
                       f"{'DirectML' if platform == WINDOWS else 'CPU'} onnxruntime instead")

    if platform not in (LINUX_X86, WINDOWS):
        return refuse(f"onnxruntime-gpu wheels exist for Linux x86_64 and Windows only, not {platform}")
    if version < (3, 10):
        return refuse("onnxruntime-gpu with NVIDIA's pip CUDA libraries needs Python 3.10 or newer")
    if nvidia is None:
        return Flavour("cuda13", "--device cuda, but no NVIDIA driver was found: the filter will use the CPU "
                       "until one is installed (CUDA 13 needs driver 580 or newer)")
    if nvidia.cuda_major >= 13 and version >= (3, 11):
        return Flavour("cuda13", f"NVIDIA driver {nvidia.version} runs CUDA 13")
    if nvidia.cuda_major >= 12:
        return Flavour("cuda12", f"NVIDIA driver {nvidia.version} runs CUDA 12")
    return refuse(f"NVIDIA driver {nvidia.version} is too old for CUDA 12 (needs 525 or newer): update it")
