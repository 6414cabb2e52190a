"""Every command of the README's "Without OBS: the command line" block, run as written.

The block is parsed from README.md, so editing it to a command that does not work fails here. The
commands run one by one with bash in a copy of the repository's files (what a clone holds: git's
tracked and not-ignored files, no .venv), after the input files they name are created there:
call.mp4 (a person, H.264 with AAC sound), me.png and photo.jpg. A README command that names
another input fails with "no such file" until this test creates it too.

The first command really runs: `python3 -m venv .venv && .venv/bin/pip install -e .` builds a fresh
environment from the project's declared dependencies (about 15 s here, where pip installs from its
local cache and index), so every later command also proves that those dependencies are enough:
no scikit-image for `bench`, PyAV for videos. The test needs that index; without one it fails
at the first command, which then says why.

A second, fast test checks that the examples in `python -m obs_blur --help` are the README's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_helpers import REPO_ROOT
from video_clips import ClipSpec, make_clip, probe

from obs_blur.cli import DESCRIPTION
from obs_blur.media_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES

SECTION = "## Without OBS: the command line"
FILE_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def readme_commands(heading: str = SECTION) -> list[str]:
    """The lines of the first ```bash block under ``heading``, comments kept (bash ignores them)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert heading in text, f"README.md has no {heading!r} section"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"no ```bash block under {heading!r}"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def clone(destination: Path) -> Path:
    """The repository's tracked and not-ignored files, as a fresh clone would have them."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def make_inputs(folder: Path, person: np.ndarray) -> None:
    make_clip(folder / "call.mp4", person, ClipSpec(frames=12, audio="aac"))
    assert cv2.imwrite(str(folder / "me.png"), person)
    assert cv2.imwrite(str(folder / "photo.jpg"), person)


def user_environment() -> dict[str, str]:
    """This process's environment without what would point the commands at the developer's setup."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(REPO_ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def named_outputs(command: str, folder: Path) -> list[Path]:
    """Files and folders a command names that do not exist yet: what it must create."""
    words = shlex.split(command, comments=True)
    outputs = [folder / w for w in words if Path(w).suffix.lower() in FILE_SUFFIXES and not (folder / w).exists()]
    outputs += [folder / words[i + 1] for i, w in enumerate(words[:-1]) if w == "--out"]
    return outputs


@pytest.mark.slow
def test_every_readme_command_works(tmp_path: Path, astronaut: np.ndarray) -> None:
    commands = readme_commands()
    assert commands[0].startswith("python3 -m venv .venv"), "the block starts by making the environment"
    folder = clone(tmp_path / "obs-blur")
    make_inputs(folder, astronaut)
    for command in commands:
        expected = named_outputs(command, folder)
        result = subprocess.run(
            ["bash", "-c", command], cwd=folder, env=user_environment(), capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr, f"{command}\n{result.stderr}"
        for path in expected:
            assert path.exists() and (path.is_dir() or path.stat().st_size > 0), f"{command}: {path} not written"
    if "blurred.mp4" in " ".join(commands):
        assert [s.codec for s in probe(folder / "blurred.mp4")] == ["h264", "aac"]


def _invocation(line: str) -> str:
    """`.venv/bin/python -m obs_blur ARGS  # note` or `python -m obs_blur ARGS  # note` → `ARGS`."""
    words = shlex.split(line.strip(), comments=True)
    index = words.index("obs_blur")
    return " ".join(words[index + 1 :])


def test_help_examples_are_the_readme_commands() -> None:
    readme = {_invocation(c) for c in readme_commands() if "-m obs_blur" in c}
    examples = {_invocation(line) for line in DESCRIPTION.splitlines() if "-m obs_blur" in line}
    assert readme and examples == readme
