"""Every pin row of install.py installs where it claims to, asked of pip itself.

For the first and the last Python of each row, on each of its platforms, at the oldest OS the row
claims (macOS: the row's ``lowest_macos``; Linux: glibc 2.28; Windows: 64-bit), pip resolves the
row's pins with wheels only, as install.py's ``pip install --only-binary=:all:`` would there:

  pip install --dry-run --ignore-installed --only-binary=:all: --platform TAG... --python-version X.Y
      --target TMP --report REPORT --use-feature=fast-deps PINS

Nothing is installed, but pip reads the package index (PyPI), so these tests need the network; the
pip runs go in parallel. ``fast-deps`` reads each wheel's metadata with HTTP range requests: PyPI
serves no separate metadata for the large wheels (onnxruntime-gpu, NVIDIA's CUDA libraries), and
without it each CUDA row's dry run downloads about 2 GB into the temporary folder, enough to fill a
small CI disk when the rows run side by side. A row that pip cannot resolve at its claim, or that
pulls in a package it does not pin, fails with pip's own words.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from obs.script_modules import load_installer

installer = load_installer()

# manylinux_2_28: the oldest glibc every Linux row's wheels need (onnxruntime 1.24 and newer, OpenCV 5).
LINUX_GLIBC_MINOR = 28
# pip runs at once: each mostly waits for the index.
PIP_RUNS_AT_ONCE = min(8, 2 * (os.cpu_count() or 1))
# The first pip whose dry run downloads no wheel when range requests gave it their metadata.
PIP_WITHOUT_DOWNLOADS = (23, 3)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Claim:
    """One row of PINS, said to install for ``python`` on ``platform`` from the row's oldest OS on."""

    row: int
    platform: str
    python: tuple[int, int]

    @property
    def pins(self) -> installer.pins.PinRow:
        return installer.pins.PINS[self.row]

    def __str__(self) -> str:
        oldest = f"-macos{self.pins.lowest_macos[0]}" if self.platform.startswith("macos") else ""
        return f"row{self.row}-{self.pins.flavour}-{self.platform}{oldest}-py{self.python[0]}.{self.python[1]}"


def platform_tags(platform: str, lowest_macos: tuple[int, int]) -> list[str]:
    """pip's --platform values for the oldest OS of a claim.

    macOS: one tag, pip adds every older macOS and the universal tags itself. Linux: every
    manylinux_2_X up to the claimed glibc, which older pips do not add on their own, and
    manylinux2014 (pip adds 2010 and 1 to it). Windows: win_amd64.
    """
    system, _, arch = platform.partition("-")
    if system == "macos":
        return [f"macosx_{lowest_macos[0]}_{lowest_macos[1]}_{arch}"]
    if system == "windows":
        return ["win_amd64"]
    return [f"manylinux_2_{minor}_{arch}" for minor in range(LINUX_GLIBC_MINOR, 16, -1)] + [f"manylinux2014_{arch}"]


def claims() -> list[Claim]:
    return [
        Claim(index, platform, python)
        for index, row in enumerate(installer.pins.PINS)
        for platform in row.platforms
        for python in dict.fromkeys((row.first_python, row.last_python))
    ]


def resolve(claim: Claim, target: Path) -> subprocess.CompletedProcess:
    """pip's dry run of the claim, with its JSON report in ``target``/report.json."""
    tags = platform_tags(claim.platform, claim.pins.lowest_macos)
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "--quiet", *[arg for tag in tags for arg in ("--platform", tag)],
        "--python-version", f"{claim.python[0]}.{claim.python[1]}", "--target", str(target / "site"),
        "--report", str(target / "report.json"), "--use-feature=fast-deps",
        *installer.pins.requirement_strings(claim.pins.packages),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503), extras dropped."""
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def pip_version() -> tuple[int, int]:
    """The (major, minor) of the pip the dry runs use: this interpreter's."""
    from pip import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(re.match(r"\d+", minor).group())


@pytest.fixture(scope="module")
def resolutions(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> dict[Claim, tuple[subprocess.CompletedProcess, Path]]:
    """The dry runs of the claims this session tests (``-k`` selects), side by side: each takes seconds."""
    if pip_version() < PIP_WITHOUT_DOWNLOADS:
        pytest.fail(f"pip {pip_version()} would download every wheel of every row (GBs): upgrade pip first")
    selected = [item.callspec.params["claim"] for item in request.session.items
                if "claim" in getattr(getattr(item, "callspec", None), "params", {})]
    with ThreadPoolExecutor(max_workers=PIP_RUNS_AT_ONCE) as pool:
        runs = {}
        for claim in dict.fromkeys(selected):
            target = tmp_path_factory.mktemp(str(claim))
            runs[claim] = (pool.submit(resolve, claim, target), target / "report.json")
        return {claim: (future.result(), report) for claim, (future, report) in runs.items()}


def test_pip_reads_metadata_without_downloading_wheels() -> None:
    assert pip_version() >= PIP_WITHOUT_DOWNLOADS, (
        f"pip {pip_version()} downloads every wheel in a dry run (2 GB a CUDA row): "
        f"`python -m pip install -e '.[test]'` brings pip >= {PIP_WITHOUT_DOWNLOADS}")


def test_every_row_and_platform_is_checked() -> None:
    checked = {(claim.row, claim.platform) for claim in claims()}
    assert checked == {(index, platform) for index, row in enumerate(installer.pins.PINS) for platform in row.platforms}
    assert len(claims()) >= len(installer.pins.PINS)


@pytest.mark.parametrize("claim", claims(), ids=str)
def test_pin_row_installs_on_the_oldest_os_it_claims(claim: Claim,
                                                      resolutions: dict[Claim, tuple[subprocess.CompletedProcess,
                                                                                     Path]]) -> None:
    result, report = resolutions[claim]
    tags = " ".join(platform_tags(claim.platform, claim.pins.lowest_macos)[:1])
    assert result.returncode == 0, (
        f"{claim}: pip cannot install the row's pins for Python {claim.python[0]}.{claim.python[1]} on {tags}; "
        f"raise the row's lowest OS or change its pins:\n{result.stderr[-3000:]}")
    wanted = {canonical(name): version for name, version in claim.pins.packages.items()}
    chosen = {canonical(item["metadata"]["name"]): item["metadata"]["version"]
              for item in json.loads(report.read_text(encoding="utf-8"))["install"]}
    assert chosen == wanted, f"{claim}: pip would install other packages than the row pins"
