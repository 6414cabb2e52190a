"""The pinned wheels of each onnxruntime flavour, per Python and platform, and the row that fits an interpreter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from . import common
from .common import InstallError

# obs-blur's wheels need 3.9 or newer.
OBS_BLUR_MIN_PYTHON = (3, 9)

# Every package that lands in the private folder, pinned, so that an install today and one next year
# are the same bytes. Resolved together with pip's resolver (wheels only) for each Python and
# platform a row names. A flavour is one onnxruntime package: the CPU wheel (CoreML is in it on
# macOS), onnxruntime-directml (Windows), or onnxruntime-gpu with NVIDIA's CUDA and cuDNN wheels,
# instead of a system CUDA install. CUDA 13 wheels need an NVIDIA driver >= 580, CUDA 12 ones >= 525.
# Wheels also name the oldest OS they run on: a row's lowest_macos is the oldest macOS all of its
# wheels install on, and every Linux row needs glibc 2.28 (manylinux_2_28). tests/test_pins.py
# resolves each row with pip on the oldest OS it claims.
_COMMON_311 = {
    "numpy": "2.4.6",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "7.36.2",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
_COMMON_310 = {
    "numpy": "2.2.6",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "7.36.2",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
_COMMON_39 = {
    "numpy": "2.0.2",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "6.33.6",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
# onnxruntime before 1.24 also needs these.
_ORT_123_EXTRAS = {"coloredlogs": "15.0.1", "humanfriendly": "10.0", "sympy": "1.14.0", "mpmath": "1.3.0"}
# macOS 11 and 12: the newest onnxruntime with wheels for them is 1.19.2 (1.20 and newer need
# macOS 13), and the newest OpenCV is 4.10.0.84 (4.11 and newer need macOS 13, on Intel 4.10 needs 12).
_MACOS_BEFORE_13 = {
    "onnxruntime": "1.19.2", **_COMMON_39, "opencv-python-headless": "4.10.0.84", **_ORT_123_EXTRAS,
}
_CUDA13_WHEELS = {
    "onnxruntime-gpu[cuda,cudnn]": "1.31.1",
    "nvidia-cuda-runtime": "13.5.37",
    "nvidia-cuda-nvrtc": "13.5.37",
    "nvidia-cublas": "13.10.0.20",
    "nvidia-cudnn-cu13": "9.28.1.4",
    "nvidia-cufft": "12.5.0.14",
    "nvidia-curand": "10.4.5.25",
    "nvidia-nvjitlink": "13.5.37",
}
# NVIDIA's CUDA 12 wheels, less cuBLAS, whose newest Windows wheel is older than the Linux one.
_CUDA12_LIBRARIES = {
    "nvidia-cuda-runtime-cu12": "12.9.79",
    "nvidia-cuda-nvrtc-cu12": "12.9.86",
    "nvidia-cudnn-cu12": "9.28.0.42",
    "nvidia-cufft-cu12": "11.4.1.4",
    "nvidia-curand-cu12": "10.3.10.19",
    "nvidia-nvjitlink-cu12": "12.9.86",
}
_CUBLAS12_LINUX = {"nvidia-cublas-cu12": "12.9.3.13"}
_CUBLAS12_WINDOWS = {"nvidia-cublas-cu12": "12.9.2.10"}
LINUX_X86 = "linux-x86_64"
LINUX_ARM = "linux-aarch64"
WINDOWS = "windows-amd64"
MAC_ARM = "macos-arm64"
MAC_INTEL = "macos-x86_64"
_ALL_BUT_INTEL_MACS = (LINUX_X86, LINUX_ARM, WINDOWS, MAC_ARM)


@dataclass(frozen=True)
class PinRow:
    """The wheels of one flavour for a range of Python versions on some platforms.

    ``lowest_macos`` is the oldest macOS whose wheel tags every package of the row has, on each macOS
    platform the row names: pip refuses a wheel tagged for a newer macOS than the one it runs on.
    """

    flavour: str
    first_python: tuple[int, int]
    last_python: tuple[int, int]
    platforms: tuple[str, ...]
    packages: dict[str, str]
    lowest_macos: tuple[int, int] = (0, 0)

    def fits(self, flavour: str, version: tuple[int, int], platform: str,
             macos: Optional[tuple[int, int]]) -> bool:
        """Whether this row installs for ``version`` on ``platform`` (and macOS ``macos``, where known)."""
        if self.flavour != flavour or platform not in self.platforms:
            return False
        if not self.first_python <= version <= self.last_python:
            return False
        return macos is None or not platform.startswith("macos") or macos >= self.lowest_macos


# First matching row wins. onnxruntime-gpu 1.26.0 is the newest built for CUDA 12.
PINS: tuple[PinRow, ...] = (
    PinRow("cpu", (3, 11), (3, 14), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.32.0", **_COMMON_311},
           lowest_macos=(14, 0)),
    PinRow("cpu", (3, 11), (3, 13), (MAC_ARM,), {"onnxruntime": "1.23.2", **_COMMON_311, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 10), (3, 13), (MAC_INTEL,), {
        "onnxruntime": "1.23.2", **_COMMON_310, "opencv-python-headless": "4.12.0.88", **_ORT_123_EXTRAS,
    }, lowest_macos=(13, 0)),
    PinRow("cpu", (3, 10), (3, 10), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.23.2", **_COMMON_310, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 9), (3, 9), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.19.2", **_COMMON_39, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 9), (3, 12), (MAC_ARM,), _MACOS_BEFORE_13, lowest_macos=(11, 0)),
    PinRow("cpu", (3, 9), (3, 12), (MAC_INTEL,), _MACOS_BEFORE_13, lowest_macos=(12, 0)),
    PinRow("directml", (3, 11), (3, 14), (WINDOWS,), {
        "onnxruntime-directml": "1.24.4", **_COMMON_311, "sympy": "1.14.0", "mpmath": "1.3.0",
    }),
    PinRow("directml", (3, 10), (3, 10), (WINDOWS,), {
        "onnxruntime-directml": "1.23.0", **_COMMON_310, **_ORT_123_EXTRAS,
    }),
    PinRow("directml", (3, 9), (3, 9), (WINDOWS,), {"onnxruntime-directml": "1.19.2", **_COMMON_39, **_ORT_123_EXTRAS}),
    PinRow("cuda13", (3, 11), (3, 14), (LINUX_X86, WINDOWS), {**_CUDA13_WHEELS, **_COMMON_311}),
    PinRow("cuda12", (3, 11), (3, 14), (LINUX_X86,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.26.0", **_CUDA12_LIBRARIES, **_CUBLAS12_LINUX, **_COMMON_311,
    }),
    PinRow("cuda12", (3, 11), (3, 14), (WINDOWS,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.26.0", **_CUDA12_LIBRARIES, **_CUBLAS12_WINDOWS, **_COMMON_311,
    }),
    PinRow("cuda12", (3, 10), (3, 10), (LINUX_X86,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.23.2", **_CUDA12_LIBRARIES, **_CUBLAS12_LINUX, **_COMMON_310,
        **_ORT_123_EXTRAS,
    }),
    PinRow("cuda12", (3, 10), (3, 10), (WINDOWS,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.23.2", **_CUDA12_LIBRARIES, **_CUBLAS12_WINDOWS, **_COMMON_310,
        **_ORT_123_EXTRAS,
    }),
)


def pins_for(flavour: str, version: tuple[int, int], platform: str,
             macos: Optional[tuple[int, int]] = None) -> dict[str, str]:
    """The pinned wheels of ``flavour`` for Python ``version`` on ``platform`` (and ``macos``, when known)."""
    for row in PINS:
        if row.fits(flavour, version, platform, macos):
            return dict(row.packages)
    on_macos = platform.startswith("macos")
    where = platform + (f" (macOS {macos[0]}.{macos[1]})" if macos and on_macos else "")
    rows = [row for row in PINS if row.fits(flavour, row.first_python, platform, macos)]
    span = (f"Python {common.dotted(min(row.first_python for row in rows))}-"
            f"{common.dotted(max(row.last_python for row in rows))}" if rows else "no Python")
    raise InstallError(
        f"no pinned {flavour} wheels for Python {common.dotted(version)} on {where}: obs-blur's {flavour} wheels "
        f"cover {span} there (3.11 or 3.12 recommended); use --device cpu, a supported Python"
        + (", or a newer macOS." if on_macos else ".")
    )


def requirement_strings(packages: Mapping[str, str]) -> list[str]:
    """``name==version`` for pip, extras kept (``onnxruntime-gpu[cuda,cudnn]==1.31.1``)."""
    return [f"{name}=={version}" for name, version in packages.items()]


def onnxruntime_package(packages: Mapping[str, str]) -> str:
    """"onnxruntime-gpu 1.31.1": the flavour's onnxruntime wheel, for messages."""
    for name, version in packages.items():
        if name.startswith("onnxruntime"):
            return f"{name.split('[')[0]} {version}"
    return "onnxruntime ?"
