"""Temporal smoothing, edge-aware refinement and the compositor's promises (no halo, real blur)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obs_blur.blur_plan import blur_sigma
from obs_blur.compositor import CompositeSettings, background_blur, composite
from obs_blur.edge_band import visible_band
from obs_blur.errors import ObsBlurError
from obs_blur.full_size_planes import FullSizePlanes
from obs_blur.refine import DEFAULT_REFINE, apply_coefficients, band_coefficients, bilinear_alpha, refine_mask
from obs_blur.temporal import CoefficientSmoother, MaskSmoother


def test_smoothing_cuts_small_noise() -> None:
    rng = np.random.default_rng(1)
    base = np.full((36, 64), 0.6, np.float32)
    smoother = MaskSmoother(strength=0.7, motion_threshold=0.25)
    raw, smooth = [], []
    for _ in range(60):
        noisy = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
        raw.append(noisy)
        smooth.append(smoother(noisy))
    raw_flicker = np.mean([np.abs(a - b).mean() for a, b in zip(raw[1:], raw[:-1])])
    smooth_flicker = np.mean([np.abs(a - b).mean() for a, b in zip(smooth[11:], smooth[10:-1])])
    assert smooth_flicker < 0.5 * raw_flicker


@pytest.mark.parametrize("strength", [0.8, 1.0])
def test_smoothing_follows_motion_at_once(strength: float) -> None:
    """A big change (a hand moving in, then out) shows in the very next frame: no lag ghost.

    The step passes most of the way at once, beyond the visible edge band: the drawn alpha is
    already whole, and on the way back already zero.
    """
    low, high = visible_band(DEFAULT_REFINE.softness)
    smoother = MaskSmoother(strength=strength)
    smoother(np.zeros((8, 8), np.float32))
    assert smoother(np.ones((8, 8), np.float32)).min() > high
    assert smoother(np.zeros((8, 8), np.float32)).max() < low


def test_smoothing_off_and_reset() -> None:
    smoother = MaskSmoother(strength=0.0)
    smoother(np.zeros((4, 4), np.float32))
    assert smoother(np.full((4, 4), 0.1, np.float32)).max() == pytest.approx(0.1)
    smoother = MaskSmoother(strength=1.0)
    smoother(np.zeros((4, 4), np.float32))
    smoother.reset()
    assert smoother(np.full((4, 4), 0.1, np.float32)).max() == pytest.approx(0.1)


def _textured_edge_scene() -> np.ndarray:
    """A still textured 'person' left of x=64 on a grey wall (capture size)."""
    rng = np.random.default_rng(3)
    scene = np.full((72, 128, 3), 110, np.float32)
    scene[:, :64] = rng.uniform(60, 200, (72, 64, 3))
    return cv2.GaussianBlur(scene, (0, 0), 1.5).astype(np.uint8)


def test_coefficient_smoothing_steadies_the_outline_of_a_still_person() -> None:
    """The model's outline jitters by a pixel on a still person: with the coefficients smoothed as well
    as the mask, the drawn outline moves far less than with the mask's smoothing alone."""
    rng = np.random.default_rng(5)
    frame, columns = _textured_edge_scene(), np.arange(128, dtype=np.float32)
    mask_smoother, coefficient_smoother = MaskSmoother(), CoefficientSmoother()
    mask_only, both = [], []
    for _ in range(40):
        edge = 64 + rng.normal(0, 1.0)
        mask = mask_smoother(np.tile(1 / (1 + np.exp((columns - edge) / 1.5)), (72, 1)).astype(np.float32))
        coefficients = band_coefficients(frame, mask)
        mask_only.append(apply_coefficients(coefficients, frame).astype(np.float32))
        both.append(apply_coefficients(coefficient_smoother(coefficients, mask), frame).astype(np.float32))
    flicker = [np.mean([np.abs(a - b).mean() for a, b in zip(run[11:], run[10:-1])]) for run in (mask_only, both)]
    assert flicker[1] < 0.5 * flicker[0], flicker


@pytest.mark.parametrize("strength", [0.8, 1.0])
def test_both_smoothings_pass_a_person_stepping_in_at_once(strength: float) -> None:
    """The mask and the coefficients together: a person who appears is drawn whole in that very frame."""
    empty = np.full((72, 128, 3), 40, np.uint8)
    person = empty.copy()
    person[:, :64] = 200
    masks = (np.zeros((72, 128), np.float32), cv2.GaussianBlur((person[..., 0] > 100).astype(np.float32), (0, 0), 2))
    mask_smoother, coefficient_smoother = MaskSmoother(strength), CoefficientSmoother(strength)
    for frame, raw in zip((empty, person), masks):
        mask = mask_smoother(raw)
        alpha = apply_coefficients(coefficient_smoother(band_coefficients(frame, mask), mask), frame)
    assert alpha[:, :56].min() > 240 and alpha[:, 72:].max() < 15


def test_coefficient_smoothing_off_and_reset() -> None:
    mask = np.zeros((8, 8), np.float32)
    first, second = np.zeros((4, 4, 4), np.float32), np.full((4, 4, 4), 0.5, np.float32)
    smoother = CoefficientSmoother(strength=0.0)
    smoother(first, mask)
    assert np.array_equal(smoother(second, mask), second)
    smoother = CoefficientSmoother(strength=1.0)
    smoother(first, mask)
    smoother.reset()
    assert np.array_equal(smoother(second, mask), second)


def _edge_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bright 'person' left of x=300 on a dark background, and a blurry low-res mask of it."""
    frame = np.full((360, 640, 3), 40, np.uint8)
    frame[:, :300] = 200
    small = cv2.resize(frame, (128, 72), interpolation=cv2.INTER_AREA)
    truth = np.zeros((72, 128), np.float32)
    truth[:, :60] = 1.0
    blurry = cv2.GaussianBlur(truth, (0, 0), 3)
    return frame, small, blurry


def test_refinement_snaps_to_the_real_edge() -> None:
    frame, small, blurry = _edge_scene()
    refined = refine_mask(frame, small, blurry)[180].astype(int)
    plain = bilinear_alpha(frame.shape, blurry)[180].astype(int)
    assert refined[:290].min() > 240 and refined[310:].max() < 15
    width_refined = int(((refined > 15) & (refined < 240)).sum())
    width_plain = int(((plain > 15) & (plain < 240)).sum())
    assert width_refined < width_plain / 2, (width_refined, width_plain)


def test_refinement_follows_a_colour_edge_of_equal_brightness() -> None:
    """A blue shirt before a red wall of the same brightness: the outline still snaps to the colour edge."""
    frame = np.empty((360, 640, 3), np.uint8)
    frame[:, :300] = (200, 60, 40)  # BGR: the person in blue
    frame[:, 300:] = (10, 40, 150)  # a red wall
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert abs(int(grey[0, 0]) - int(grey[0, 639])) <= 3, "the test needs two colours of one brightness"
    small = cv2.resize(frame, (128, 72), interpolation=cv2.INTER_AREA)
    truth = np.zeros((72, 128), np.float32)
    truth[:, :60] = 1.0
    blurry = cv2.GaussianBlur(truth, (0, 0), 3)
    refined = refine_mask(frame, small, blurry)[180].astype(int)
    assert refined[:299].min() > 240 and refined[301:].max() < 15
    plain = bilinear_alpha(frame.shape, blurry)[180].astype(int)
    assert ((refined > 15) & (refined < 240)).sum() <= 1 < ((plain > 15) & (plain < 240)).sum()


def test_refinement_reads_bgra_frames_as_their_colour() -> None:
    frame, small, blurry = _edge_scene()
    with_alpha = refine_mask(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), cv2.cvtColor(small, cv2.COLOR_BGR2BGRA), blurry)
    assert np.array_equal(with_alpha, refine_mask(frame, small, blurry))


def _pasted_person(size: int = 360) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A detailed 'person' (random texture) with a hand-made mask on a plain grey background."""
    rng = np.random.default_rng(7)
    background = np.full((size, 640, 3), 128, np.uint8)
    alpha = np.zeros((size, 640), np.uint8)
    cv2.ellipse(alpha, (320, size), (110, size * 2 // 3), 0, 0, 360, 255, -1)
    cv2.circle(alpha, (320, size // 3), 60, 255, -1)
    person = rng.integers(170, 256, (size, 640, 3), dtype=np.uint8)  # brighter than the background
    frame = np.where(alpha[..., None] > 0, person, background)
    return frame, alpha, background


@pytest.mark.parametrize("strength", [10, 50, 100])
def test_no_halo_around_the_person(strength: float) -> None:
    """Band 4-30 px outside the person vs the blurred background alone: at most 1 grey level."""
    frame, alpha, background = _pasted_person()
    out = composite(frame, alpha, CompositeSettings(strength=strength)).astype(np.float32)
    outside = cv2.dilate(alpha, np.ones((61, 61), np.uint8)) > 0
    near = cv2.dilate(alpha, np.ones((9, 9), np.uint8)) > 0
    band = outside & ~near
    halo = np.abs(out[band] - background.astype(np.float32)[band]).mean()
    assert halo <= 1.0, halo
    if strength < 50:
        return  # a small blur does not reach 4 px out, naive or not
    naive = cv2.GaussianBlur(frame, (0, 0), blur_sigma(frame.shape[0], strength)).astype(np.float32)
    assert np.abs(naive[band] - 128).mean() > 3 * max(halo, 0.5), "the naive blur must show the halo we avoid"


def _detail(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(grey - cv2.blur(grey, (5, 5))).mean())


def test_blur_removes_background_detail_and_keeps_the_person(astronaut: np.ndarray) -> None:
    alpha = np.zeros(astronaut.shape[:2], np.uint8)
    alpha[60:, 140:380] = 255
    out = composite(astronaut, alpha, CompositeSettings(strength=50))
    background = (alpha == 0)[..., None]
    assert _detail(np.where(background, out, 0)) < 0.3 * _detail(np.where(background, astronaut, 0))
    assert np.abs(out[alpha == 255].astype(int) - astronaut[alpha == 255]).max() <= 1


def test_strength_is_continuous(astronaut: np.ndarray) -> None:
    alpha = np.zeros(astronaut.shape[:2], np.uint8)
    details = [_detail(background_blur(astronaut, alpha, s)) for s in (0, 10, 20, 40, 80)]
    assert details == sorted(details, reverse=True) and details[0] > details[-1] * 3


def test_other_modes(astronaut: np.ndarray) -> None:
    alpha = np.zeros(astronaut.shape[:2], np.uint8)
    alpha[100:200, 100:200] = 255
    color = composite(astronaut, alpha, CompositeSettings(mode="color", color=(10, 20, 30)))
    assert tuple(color[0, 0]) == (10, 20, 30) and (color[150, 150] == astronaut[150, 150]).all()
    picture = np.zeros((50, 100, 3), np.uint8)
    picture[:, :, 1] = 255
    image = composite(astronaut, alpha, CompositeSettings(mode="image", image=picture))
    assert tuple(image[0, 0]) == (0, 255, 0)
    transparent = composite(astronaut, alpha, CompositeSettings(mode="transparent"))
    assert transparent.shape[2] == 4 and transparent[0, 0, 3] == 0 and transparent[150, 150, 3] == 255
    mask = composite(astronaut, alpha, CompositeSettings(mode="mask"))
    assert mask[150, 150, 0] == 255 and mask[0, 0, 0] == 0
    with pytest.raises(ObsBlurError):
        composite(astronaut, alpha, CompositeSettings(mode="sparkle"))
    with pytest.raises(ObsBlurError):
        composite(astronaut, alpha, CompositeSettings(mode="image"))


def test_bgra_frame_keeps_its_alpha_channel(astronaut: np.ndarray) -> None:
    frame = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    frame[..., 3] = 77
    out = composite(frame, np.zeros(frame.shape[:2], np.uint8), CompositeSettings())
    assert out.shape == frame.shape and (out[..., 3] == 77).all()


def test_exclusion_band_is_wider_than_the_visible_alpha() -> None:
    """Pixels the model is slightly unsure about stay out of the blur; the visible edge is unchanged."""
    from obs_blur.refine import refine_with_weights

    frame, small, blurry = _edge_scene()
    alpha, exclude = refine_with_weights(frame, small, blurry)
    assert (exclude >= alpha).all()
    assert (exclude > 127).sum() > (alpha > 127).sum()


def test_blur_weights_keep_out_what_the_model_is_unsure_of_beyond_a_crisp_outline() -> None:
    """The colour fit draws the edge crisply; the model's own low-probability tail stays out of the blur."""
    from obs_blur.refine import refine_with_weights

    frame, small, blurry = _edge_scene()
    alpha, exclude = refine_with_weights(frame, small, blurry)
    row_alpha, row_exclude = alpha[180].astype(int), exclude[180].astype(int)
    assert row_alpha[305:].max() < 15  # the visible outline stops at the real edge (x = 300)
    assert (row_exclude[305:] > 127).sum() >= 10  # the blur still ignores pixels the model gives 3-20 %


def test_transparent_border_does_not_darken_the_blur(astronaut: np.ndarray) -> None:
    """A picture with a transparent border: the invisible pixels are no background to blur in (no dark rim)."""
    framed = cv2.copyMakeBorder(cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA), 64, 64, 64, 64, cv2.BORDER_CONSTANT)
    opaque = cv2.copyMakeBorder(astronaut, 64, 64, 64, 64, cv2.BORDER_REFLECT)  # the same picture, nothing hidden
    no_person = np.zeros(framed.shape[:2], np.uint8)
    rim = np.zeros(framed.shape[:2], bool)
    rim[64:-64, 64:-64] = True
    rim[72:-72, 72:-72] = False  # the 8 px inside the picture's edge
    blurred = background_blur(framed, no_person, 100).astype(np.float32)
    reference = background_blur(opaque, no_person, 100).astype(np.float32)
    assert np.abs(blurred[rim].mean() - reference[rim].mean()) <= 3.0  # 47 when they counted as black


def test_scratch_planes_reused_between_frames_change_nothing() -> None:
    """The command line reuses its full-size scratch from frame to frame: every output equals a fresh
    computation, and an output handed out earlier is not overwritten by the next frame's work."""
    frame, small, blurry = _edge_scene()
    frames = [frame, cv2.cvtColor(np.ascontiguousarray(frame[:, ::-1]), cv2.COLOR_BGR2BGRA)]
    coefficients = band_coefficients(small, blurry)
    planes = FullSizePlanes()
    kept = []
    for picture in frames * 2:
        alpha = apply_coefficients(coefficients, picture, planes)
        assert np.array_equal(alpha, apply_coefficients(coefficients, picture))
        for settings in (CompositeSettings(strength=60), CompositeSettings(mode="lens", strength=60),
                         CompositeSettings(strength=0)):
            out = composite(picture, alpha, settings, None, planes)
            assert np.array_equal(out, composite(picture, alpha, settings))
            kept.append((out, out.copy()))
    assert all(np.array_equal(out, copy) for out, copy in kept)
