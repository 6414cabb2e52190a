"""The ``auto`` model: by the frame's shape at once, by the person's size after a hold, as the CLI does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pictures import person_far_in_wide_frame

from obs_blur.bench import make_frames
from obs_blur.model_choice import (
    AUTO,
    FIRST_SWITCH_AFTER_S,
    LARGE_PERSON_FROM,
    SMALL_PERSON_BELOW,
    SQUARE_MODEL,
    WIDE_MODEL,
    ModelChooser,
    choice_for_frame,
    choice_for_picture,
    person_share,
)
from obs_blur.pipeline import ModelPipelines
from obs_blur.segmentation.manifest import read_model_choices

SMALL, LARGE = SMALL_PERSON_BELOW / 2, LARGE_PERSON_FROM + 0.1


@pytest.mark.parametrize(
    ("width", "height", "model"),
    [(1280, 720, WIDE_MODEL), (1920, 1080, WIDE_MODEL), (640, 480, SQUARE_MODEL), (512, 512, SQUARE_MODEL),
     (720, 1280, SQUARE_MODEL), (1080, 1920, SQUARE_MODEL)],
)
def test_the_frame_shape_decides_first(width: int, height: int, model: str) -> None:
    choice = choice_for_frame(width, height)
    assert choice.model == model and f"{width}x{height}" in choice.reason


def test_a_small_person_on_a_wide_frame_gets_the_square_model_after_the_hold() -> None:
    chooser = ModelChooser()
    assert chooser.for_frame(1280, 720).model == WIDE_MODEL
    assert chooser.observe(SMALL, WIDE_MODEL, 10.0) is None
    assert chooser.observe(SMALL, WIDE_MODEL, 10.0 + FIRST_SWITCH_AFTER_S - 0.1) is None  # not yet
    switched = chooser.observe(SMALL, WIDE_MODEL, 10.0 + FIRST_SWITCH_AFTER_S)
    assert switched is not None and switched.model == SQUARE_MODEL and "small" in switched.reason
    assert chooser.for_frame(1280, 720).model == SQUARE_MODEL


def test_a_person_who_comes_close_for_a_moment_does_not_switch() -> None:
    chooser = ModelChooser()
    chooser.for_frame(1280, 720)
    chooser.observe(SMALL, WIDE_MODEL, 0.0)
    chooser.observe(0.20, WIDE_MODEL, 2.0)  # between the thresholds: the hold starts over
    assert chooser.observe(SMALL, WIDE_MODEL, 4.0) is None
    assert chooser.observe(SMALL, WIDE_MODEL, 4.0 + FIRST_SWITCH_AFTER_S) is not None


def test_masks_of_the_old_model_and_empty_frames_change_nothing() -> None:
    chooser = ModelChooser()
    chooser.for_frame(1280, 720)
    chooser.observe(SMALL, WIDE_MODEL, 0.0)
    chooser.observe(SMALL, WIDE_MODEL, 5.0)  # now the square model
    assert chooser.observe(LARGE, WIDE_MODEL, 20.0) is None  # a late mask of the landscape model
    assert chooser.observe(0.0, SQUARE_MODEL, 21.0) is None  # nobody in view
    assert chooser.observe(0.0, SQUARE_MODEL, 100.0) is None
    assert chooser.for_frame(0, 0).model == SQUARE_MODEL  # no video for a moment: keep the model


def test_each_switch_back_waits_longer_so_models_cannot_flap() -> None:
    chooser, now, switches = ModelChooser(), 0.0, []
    chooser.for_frame(1280, 720)
    while now < 60.0:  # a picture the two models see on opposite sides of the thresholds
        share = SMALL if chooser.choice.model == WIDE_MODEL else LARGE
        if chooser.observe(share, chooser.choice.model, now) is not None:
            switches.append(now)
        now += 0.1
    gaps = np.diff([0.0, *switches])
    assert len(switches) <= 4 and all(later > earlier for earlier, later in zip(gaps, gaps[1:])), switches


def test_a_new_frame_size_starts_from_its_shape() -> None:
    chooser = ModelChooser()
    chooser.for_frame(1280, 720)
    chooser.observe(SMALL, WIDE_MODEL, 0.0)
    chooser.observe(SMALL, WIDE_MODEL, 5.0)
    assert chooser.for_frame(720, 1280).model == SQUARE_MODEL
    assert chooser.observe(LARGE, SQUARE_MODEL, 50.0) is None  # person size is not asked on a tall frame
    assert chooser.for_frame(1920, 1080).model == WIDE_MODEL


def test_a_still_picture_settles_where_the_filter_does() -> None:
    assert choice_for_picture(1280, 720, None).model == WIDE_MODEL
    assert choice_for_picture(1280, 720, SMALL).model == SQUARE_MODEL
    assert choice_for_picture(1280, 720, 0.20).model == WIDE_MODEL  # between thresholds: the frame's model
    assert choice_for_picture(1280, 720, 0.001).model == WIDE_MODEL  # nobody
    assert choice_for_picture(480, 640, LARGE).model == SQUARE_MODEL


def test_person_share_counts_pixels_above_one_half() -> None:
    mask = np.zeros((144, 256), np.float32)
    mask[:, :64] = 0.9
    mask[:, 64:128] = 0.5
    assert person_share(mask) == pytest.approx(0.25)


def test_the_dialog_offers_auto_first_and_by_default(tmp_path: Path) -> None:
    shipped = read_model_choices()
    assert shipped.names[0] == AUTO and shipped.default == AUTO
    assert {WIDE_MODEL, SQUARE_MODEL} <= set(shipped.names)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"default": "b", "models": [{"name": "a"}, {"name": "b"}]}))
    assert read_model_choices(manifest) == type(shipped)(("a", "b"), "b")  # auto needs both its models


def test_the_command_line_picks_like_the_filter_on_real_photos(astronaut: np.ndarray, camera: np.ndarray) -> None:
    pipelines = ModelPipelines(None)
    assert pipelines.model == AUTO
    assert pipelines.for_picture(astronaut).model_name == SQUARE_MODEL  # 512x512: not wide
    assert pipelines.for_picture(camera[:, 128:384]).model_name == SQUARE_MODEL  # portrait
    close = make_frames(camera, 1280, 720)[0][..., :3]  # the cameraman fills about a third of the frame
    assert pipelines.for_picture(close).model_name == WIDE_MODEL
    far = person_far_in_wide_frame(camera)  # the same man, standing back: about 4 % of the frame
    assert pipelines.for_picture(far).model_name == SQUARE_MODEL
    assert ModelPipelines("mediapipe-landscape").for_picture(far).model_name == WIDE_MODEL  # a named model stays


def test_a_video_switches_once_the_person_has_been_small_for_the_hold(camera: np.ndarray) -> None:
    pipelines = ModelPipelines(None)
    far = person_far_in_wide_frame(camera)
    used = []
    for time_s in (0.0, 1.0, 2.0, FIRST_SWITCH_AFTER_S, FIRST_SWITCH_AFTER_S + 1.0):
        pipeline = pipelines.for_video_frame(far)
        pipeline.alpha(far)
        pipelines.observe(pipeline, time_s)
        used.append(pipeline.model_name)
    assert used == [WIDE_MODEL] * 4 + [SQUARE_MODEL]
