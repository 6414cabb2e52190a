"""The two rules that decide how much work a frame gets: the bounded wait for a mask, and the still picture."""

from __future__ import annotations

import numpy as np
import pytest

from obs_blur.edge_band import COEFFICIENT_CHANNELS
from obs_blur.mask_timing import HEADROOM_SHARE, MAX_MASK_WAIT_S, WorkerLatency, mask_wait_budget_s
from obs_blur.still_picture import SETTLED_TOLERANCE, StillPictureGate

FRAME_30 = 1 / 30


def test_a_mask_known_to_be_close_is_waited_for_up_to_the_bound() -> None:
    assert mask_wait_budget_s(FRAME_30, 0.005, in_flight_s=0.002, typical_latency_s=0.004) == MAX_MASK_WAIT_S


def test_a_mask_not_expected_within_the_bound_is_not_waited_for() -> None:
    """A worker that falls behind (a slow model, a busy CPU) costs the graphics thread nothing."""
    assert mask_wait_budget_s(FRAME_30, 0.005, in_flight_s=0.001, typical_latency_s=0.030) == 0.0


def test_the_wait_never_takes_the_frames_spare_time() -> None:
    """A filter that renders slowly (a software renderer at 1080p) leaves no time to wait in."""
    slow_render = FRAME_30 * HEADROOM_SHARE
    assert mask_wait_budget_s(FRAME_30, slow_render, in_flight_s=0.004, typical_latency_s=0.004) == 0.0
    at_60 = mask_wait_budget_s(1 / 60, 0.005, in_flight_s=0.0, typical_latency_s=0.003)
    assert at_60 == pytest.approx(1 / 60 * HEADROOM_SHARE - 0.005)


def test_the_expected_latency_is_the_recent_median() -> None:
    latency = WorkerLatency()
    assert latency.typical_s is None  # nothing known: nothing is waited for
    for seconds in (0.004, 0.005, 0.100):  # one slow mask does not move the expectation
        latency.add(seconds)
    assert latency.typical_s == 0.005


def picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (144, 256, 4), dtype=np.uint8)


def coefficients(value: float) -> np.ndarray:
    return np.full((144, 256, COEFFICIENT_CHANNELS), value, np.float32)


def test_a_still_picture_is_skipped_once_two_masks_of_it_agree() -> None:
    gate, still = StillPictureGate(), picture(1)
    gate.segmenting(still, 1)
    gate.mask_arrived(1, coefficients(0.5))
    assert not gate.unchanged(still), "one mask: the smoothing may still be moving"
    gate.segmenting(still.copy(), 2)
    gate.mask_arrived(2, coefficients(0.5 + SETTLED_TOLERANCE / 4))
    assert gate.unchanged(still.copy()) and gate.settled


def test_masks_still_moving_toward_the_picture_keep_it_segmented() -> None:
    gate, still = StillPictureGate(), picture(1)
    for seq, value in enumerate((0.2, 0.4, 0.5), start=1):  # temporal smoothing converging
        gate.segmenting(still, seq)
        gate.mask_arrived(seq, coefficients(value))
        assert not gate.unchanged(still)


def test_one_changed_pixel_or_new_settings_segment_again() -> None:
    gate, still = StillPictureGate(), picture(1)
    for seq in (1, 2):
        gate.segmenting(still, seq)
        gate.mask_arrived(seq, coefficients(0.5))
    changed = still.copy()
    changed[70, 100, 1] ^= 1  # a camera's noise changes pixels like this every frame
    assert not gate.unchanged(changed)
    gate.segmenting(changed, 3)
    assert not gate.unchanged(still), "a new picture starts settling anew"
    gate.reset()  # new settings or a new model
    assert not gate.unchanged(changed)


def test_a_mask_of_an_earlier_picture_does_not_settle_the_new_one() -> None:
    gate, first, second = StillPictureGate(), picture(1), picture(2)
    gate.segmenting(first, 1)
    gate.mask_arrived(1, coefficients(0.5))
    gate.segmenting(second, 2)
    gate.mask_arrived(1, coefficients(0.5))  # late: belongs to the first picture
    gate.segmenting(second, 3)
    gate.mask_arrived(3, coefficients(0.5))
    assert not gate.unchanged(second)
