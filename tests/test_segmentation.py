"""Masks on real photos: people are covered, empty corners are not, for every model."""

from __future__ import annotations

import numpy as np
import pytest

from obs_blur.errors import ObsBlurError
from obs_blur.pipeline import MaskPipeline
from obs_blur.segmentation.bodypix import bodypix_cell_offset
from obs_blur.segmentation.capture import capture_size_for
from obs_blur.segmentation.manifest import load_manifest

SHIPPED = ["mediapipe-landscape", "mediapipe-general"]
BODYPIX = ["bodypix-s16", "bodypix-s8"]


def _alpha(model: str, image: np.ndarray) -> np.ndarray:
    return MaskPipeline.load(model).alpha(image).astype(np.float32) / 255.0


def _corners(alpha: np.ndarray) -> float:
    return max(alpha[:40, :40].mean(), alpha[:40, -40:].mean())


@pytest.mark.parametrize("model", SHIPPED)
def test_shipped_models_cover_people_not_corners(model: str, astronaut: np.ndarray, camera: np.ndarray) -> None:
    alpha = _alpha(model, astronaut)
    assert alpha.shape == astronaut.shape[:2]
    assert alpha[80:160, 200:280].mean() > 0.9, "the astronaut's face must be person"
    assert alpha[300:450, 150:350].mean() > 0.9, "her suit must be person"
    assert _corners(alpha) < 0.02
    assert 0.3 < alpha.mean() < 0.7
    cam = _alpha(model, camera)
    assert cam[100:200, 200:300].mean() > 0.55, "the cameraman's head and coat must be person"
    assert _corners(cam) < 0.02 and 0.2 < cam.mean() < 0.45


@pytest.mark.parametrize("model", SHIPPED)
def test_no_person_photo_has_empty_corners(model: str, coffee: np.ndarray) -> None:
    """MediaPipe marks a salient object (the cup) as foreground: a known limit; corners stay empty."""
    assert _corners(_alpha(model, coffee)) < 0.02


@pytest.mark.parametrize("model", BODYPIX)
def test_bodypix_is_person_specific(
    model: str, bodypix_mirror: object, astronaut: np.ndarray, coffee: np.ndarray
) -> None:
    alpha = _alpha(model, astronaut)
    assert alpha[80:160, 200:280].mean() > 0.9
    assert _corners(alpha) < 0.02
    assert _alpha(model, coffee).mean() < 0.01, "BodyPix finds no person in the coffee photo"


@pytest.mark.parametrize("model", BODYPIX)
def test_bodypix_grid_is_aligned_with_mediapipe(model: str, bodypix_mirror: object, camera: np.ndarray) -> None:
    """The alignment trap: a naive grid resize shifts the mask by half a cell and costs IoU."""
    reference = _alpha("mediapipe-general", camera) > 0.5
    mask = _alpha(model, camera) > 0.5
    iou = (reference & mask).sum() / (reference | mask).sum()
    assert iou > 0.85


def test_bodypix_capture_sizes_are_16k_plus_1() -> None:
    spec = load_manifest().get("bodypix-s16")
    sizes = [capture_size_for(spec, w, h) for w, h in [(1280, 720), (1920, 1080), (720, 1280), (640, 480), (16, 16)]]
    for width, height in sizes:
        assert width % 16 == 1 and height % 16 == 1
    assert sizes[0] == (321, 177)


def test_bodypix_cell_offset_rules() -> None:
    assert bodypix_cell_offset(321, 16) == 0.0
    assert bodypix_cell_offset(320, 16) == 15.0
    assert bodypix_cell_offset(320, 8) == 7.0
    with pytest.raises(ObsBlurError):
        bodypix_cell_offset(330, 16)


def test_frames_of_any_size_and_alpha_channel(astronaut: np.ndarray) -> None:
    import cv2

    pipeline = MaskPipeline.load()
    for width, height in [(16, 16), (33, 17), (1280, 720), (721, 1279)]:
        frame = cv2.cvtColor(cv2.resize(astronaut, (width, height)), cv2.COLOR_BGR2BGRA)
        assert pipeline.alpha(frame).shape == (height, width)


def test_bad_frames_are_refused_clearly() -> None:
    pipeline = MaskPipeline.load()
    with pytest.raises(ObsBlurError, match="8-bit"):
        pipeline.alpha(np.zeros((10, 10), np.uint8))
    with pytest.raises(ObsBlurError, match="too small"):
        pipeline.alpha(np.zeros((1, 10, 3), np.uint8))
