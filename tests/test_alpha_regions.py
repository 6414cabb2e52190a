"""The composite's sure regions: where the person alpha is 1 or 0 for any colour, as rectangles.

The GPU draws those rectangles without reading the coefficients, so the promise checked here is
exactness: every pixel of a sure-inside rectangle has alpha 255 and every pixel of a sure-outside
one alpha 0 in the CPU reference (``refine.apply_coefficients``, which upsamples the grid as a
bilinear texture read does), whatever the frame's colours; and the rectangles cover the frame once.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obs_blur.alpha_regions import EDGE, INSIDE, OUTSIDE, AlphaRegions, alpha_regions, triangle_vertices
from obs_blur.pipeline import ModelPipelines
from obs_blur.refine import apply_coefficients


def assert_exact(regions: AlphaRegions, alpha: np.ndarray) -> None:
    """Each pixel in exactly one rectangle; alpha 255 in every sure-inside one, 0 in every sure-outside one."""
    cover = np.zeros(alpha.shape, np.int32)
    for kind, rects in ((INSIDE, regions.inside), (OUTSIDE, regions.outside), (EDGE, regions.edge)):
        for x0, y0, x1, y1 in rects:
            assert x0 < x1 and y0 < y1
            cover[y0:y1, x0:x1] += 1
            if kind == INSIDE:
                assert (alpha[y0:y1, x0:x1] == 255).all()
            elif kind == OUTSIDE:
                assert (alpha[y0:y1, x0:x1] == 0).all()
    assert (cover == 1).all()


def random_coefficients(rng: np.random.Generator, grid: tuple[int, int]) -> np.ndarray:
    """Coefficients with sure areas of both kinds and a band between them, like a fitted mask's."""
    height, width = grid
    coefficients = rng.normal(0.0, 1.0, (height, width, 4)).astype(np.float32)
    coefficients[..., :3] *= rng.uniform(0.0, 0.5, (height, width, 1)).astype(np.float32)
    coefficients[..., 3] += np.linspace(-3.0, 4.0, width, dtype=np.float32)[None, :]
    return coefficients


@pytest.mark.parametrize(
    ("grid", "frame"),
    [((72, 128), (1280, 720)), ((64, 64), (1920, 1080)), ((9, 66), (363, 239)), ((40, 30), (17, 13)), ((5, 7), (1, 1))],
)
def test_sure_regions_are_exact_for_any_colour(grid: tuple[int, int], frame: tuple[int, int]) -> None:
    """Random colours (the cube's corners included) on grids stretched up, down and unevenly."""
    rng = np.random.default_rng(sum(grid) + sum(frame))
    coefficients = random_coefficients(rng, grid)
    width, height = frame
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    pixels[::7] = 255 * rng.integers(0, 2, pixels[::7].shape, dtype=np.uint8)  # pure colours
    regions = alpha_regions(coefficients, frame)

    assert_exact(regions, apply_coefficients(coefficients, pixels))
    if width * height > 100:  # a 1x1 frame lies in the band's middle
        assert regions.share(INSIDE, frame) + regions.share(OUTSIDE, frame) > 0.2


def test_a_person_photo_is_mostly_sure(astronaut: np.ndarray) -> None:
    """The astronaut at 720p as the worker fits her: about a third of the frame is surely her and
    more surely background, so the full composite runs on the outline's band only."""
    frame = cv2.resize(astronaut, (1280, 720), interpolation=cv2.INTER_CUBIC)
    pipeline = ModelPipelines(None).for_picture(frame)
    pipeline.settle_on(frame)
    coefficients = pipeline.capture_coefficients(frame)[0]
    regions = alpha_regions(coefficients, (1280, 720))

    assert_exact(regions, apply_coefficients(coefficients, frame))
    shares = [regions.share(kind, (1280, 720)) for kind in (INSIDE, OUTSIDE, EDGE)]
    assert shares[INSIDE] > 0.2 and shares[OUTSIDE] > 0.2 and shares[EDGE] < 0.4, shares
    assert regions.count < 2048  # a vertex buffer of a few hundred kB at most


def test_uniform_coefficients_give_one_rectangle_a_row() -> None:
    person = np.zeros((36, 64, 4), np.float32)
    person[..., 3] = 2.0
    regions = alpha_regions(person, (640, 360))

    assert regions.share(INSIDE, (640, 360)) == 1.0
    assert len(regions.inside) == len(np.unique(regions.inside[:, 1]))


def test_triangles_cover_the_rectangles_with_full_frame_uvs() -> None:
    rects = np.array([[0, 0, 10, 20], [10, 0, 640, 20]], np.int32)
    positions, uvs = triangle_vertices(rects, (640, 360))

    assert positions.shape == (12, 4) and positions.dtype == np.float32 and uvs.shape == (12, 2)
    assert positions[:6, :2].min(axis=0).tolist() == [0.0, 0.0]
    assert positions[:6, :2].max(axis=0).tolist() == [10.0, 20.0]
    assert (positions[:, 2:] == 0.0).all()
    np.testing.assert_allclose(uvs, positions[:, :2] / np.array([640.0, 360.0]))
    edges = [(tri[1, :2] - tri[0, :2], tri[2, :2] - tri[0, :2]) for tri in positions.reshape(-1, 3, 4)]
    assert sum(abs(u[0] * v[1] - u[1] * v[0]) / 2 for u, v in edges) == 10 * 20 + 630 * 20
