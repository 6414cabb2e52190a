"""Shared fixtures: real photos from scikit-image, isolated user folders, the BodyPix mirror."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
BODYPIX_MIRROR = SHARED / "models" / "bodypix"


def _skimage(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A person (and a held helmet) on a cluttered background, 512x512 BGR."""
    return _skimage("astronaut")


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """The cameraman: a person on an open field, 512x512 grey as BGR."""
    return _skimage("camera")


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """No person: a coffee cup."""
    return _skimage("coffee")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    """No person: a cat."""
    return _skimage("chelsea")


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads and caches go to a per-session temp folder, never the developer's home."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("OBS_BLUR_DATA", str(base / "user-data"))
    monkeypatch.setenv("OBS_BLUR_CACHE", str(base / "user-cache"))


@pytest.fixture
def bodypix_mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Serve BodyPix from the local mirror of the upstream files (the tests have no internet)."""
    if not (BODYPIX_MIRROR / "MobileNetV1-x050-stride16.onnx").is_file():
        pytest.fail(f"BodyPix mirror missing at {BODYPIX_MIRROR}: CI runs with ../shared beside the repo")
    monkeypatch.setenv("OBS_BLUR_BODYPIX_MIRROR", str(BODYPIX_MIRROR))
    return BODYPIX_MIRROR


def write_png(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path
