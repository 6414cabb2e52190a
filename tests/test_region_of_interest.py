"""The crop around the person: its geometry, how it follows a person, and what it gains on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pictures import person_far_in_wide_frame

from obs_blur.pipeline import MaskPipeline, ModelPipelines
from obs_blur.region_of_interest import (
    CROP_BELOW,
    LOOK_AROUND_EVERY,
    MARGIN,
    SNAP,
    WHOLE_FRAME_FROM,
    CaptureWindow,
    Region,
    RegionTracker,
    capture_window,
    crop_around,
    crop_input,
    person_box,
    place_back,
)
from obs_blur.segmentation.capture import capture_size_for, mask_size_for
from obs_blur.segmentation.manifest import load_manifest

LANDSCAPE, GENERAL = "mediapipe-landscape", "mediapipe-general"
GRID = (256, 144)
WIDE = 16 / 9


def person_at(left: float, top: float, width: float, height: float, grid: tuple[int, int] = GRID) -> np.ndarray:
    """A mask on ``grid`` with a person-shaped block at the given fractions of the frame."""
    mask = np.zeros((grid[1], grid[0]), np.float32)
    x0, y0 = round(left * grid[0]), round(top * grid[1])
    mask[y0 : y0 + round(height * grid[1]), x0 : x0 + round(width * grid[0])] = 1.0
    return mask


def test_the_crop_has_the_margin_and_the_model_shape_in_frame_pixels() -> None:
    box = Region(0.45, 0.30, 0.10, 0.40)
    crop = crop_around(box, WIDE, model_aspect=1.0)
    assert crop is not None
    assert 0.40 * (1 + 2 * MARGIN) < crop.height <= 0.40 * (1 + 2 * MARGIN) + 3 * SNAP
    assert crop.width * 1280 == pytest.approx(crop.height * 720), "square in the frame's own pixels"
    assert crop.left % SNAP == 0 and crop.top % SNAP == 0, "on the grid"
    margin_x, margin_y = MARGIN * box.width, MARGIN * box.height
    assert crop.left <= box.left - margin_x and crop.right >= box.right + margin_x
    assert crop.top <= box.top - margin_y and crop.bottom >= box.bottom + margin_y


def test_a_box_a_little_off_gets_the_same_crop() -> None:
    """A box a fraction of a grid pixel off (another build of the model's runtime) lands on the same grid."""
    crops = {crop_around(Region(0.45 + shift, 0.30, 0.10, 0.40), WIDE, 1.0) for shift in (0.0, 0.001, 0.002)}
    assert len(crops) == 1


def test_the_crop_stays_inside_the_frame_and_gives_way_to_the_whole_frame_when_large() -> None:
    crop = crop_around(Region(0.0, 0.6, 0.1, 0.4), WIDE, model_aspect=WIDE)
    assert crop is not None
    assert crop.left == 0.0 and crop.bottom == pytest.approx(1.0)
    assert crop_around(Region(0.1, 0.1, 0.8, 0.8), WIDE, model_aspect=WIDE) is None
    assert WHOLE_FRAME_FROM <= 0.8 * 1.2 * 0.8 * 1.2


def test_a_crop_placed_back_lands_where_it_was_cut() -> None:
    """crop_input and place_back are inverse maps: a smooth picture comes back where it was cut."""
    rows, columns = np.mgrid[0 : 2 * GRID[1], 0 : 2 * GRID[0]].astype(np.float32)
    capture = (columns / (2 * GRID[0]) + rows / (2 * GRID[1])) / 2  # a ramp across the capture
    crop = Region(0.30, 0.25, 0.25, 0.5)
    back = place_back(crop_input(CaptureWindow.whole(capture), crop, GRID), crop, GRID)
    whole = capture[::2, ::2]
    inside = person_at(crop.left + 0.01, crop.top + 0.02, crop.width - 0.02, crop.height - 0.04) > 0
    assert np.abs(back - whole)[inside].max() < 0.005
    outside = person_at(crop.left, crop.top, crop.width, crop.height) == 0
    assert np.abs(back[outside]).max() < 0.5 * whole[outside].max(), "background outside the crop"
    assert back[:, : round(crop.left * GRID[0]) - 1].max() == 0


def test_the_crop_holds_still_while_the_person_moves_inside_it() -> None:
    tracker = RegionTracker(model_aspect=1.0)
    tracker.follow(person_at(0.40, 0.30, 0.10, 0.40), WIDE)
    first = tracker.crop
    assert first is not None
    tracker.follow(person_at(0.41, 0.31, 0.10, 0.39), WIDE)
    assert tracker.crop == first, "a small move inside the crop keeps it"


def test_the_crop_follows_a_person_nearing_its_edge_and_shrinks_when_they_do() -> None:
    tracker = RegionTracker(model_aspect=1.0)
    tracker.follow(person_at(0.40, 0.30, 0.10, 0.40), WIDE)
    first = tracker.crop
    assert first is not None
    tracker.follow(person_at(first.right - 0.10, 0.30, 0.10, 0.40), WIDE)
    assert tracker.crop is not None and tracker.crop.right > first.right, "moved with the person"
    tracker.follow(person_at(0.45, 0.45, 0.04, 0.15), WIDE)
    assert tracker.crop is not None and tracker.crop.area < 0.5 * first.area, "shrank to the smaller person"


def test_without_a_person_or_with_a_large_one_the_model_sees_the_whole_frame() -> None:
    tracker = RegionTracker(model_aspect=WIDE)
    tracker.follow(person_at(0.40, 0.30, 0.10, 0.40), WIDE)
    assert tracker.crop is not None
    tracker.follow(np.zeros((GRID[1], GRID[0]), np.float32), WIDE)
    assert tracker.crop is None, "person lost"
    tracker.follow(person_at(0.05, 0.05, 0.9, 0.9), WIDE)
    assert tracker.crop is None, "a person filling the frame"
    assert person_box(np.zeros((GRID[1], GRID[0]), np.float32)) is None


def test_a_person_on_the_border_of_cropping_does_not_switch_on_every_mask() -> None:
    """A crop is taken up below CROP_BELOW of the frame and given up from WHOLE_FRAME_FROM."""
    tracker = RegionTracker(model_aspect=WIDE)
    between = person_at(0.16, 0.16, 0.68, 0.68)  # its crop covers about 74 % of the frame
    fresh = crop_around(person_box(between), WIDE, WIDE)  # type: ignore[arg-type]
    assert fresh is not None and CROP_BELOW <= fresh.area < WHOLE_FRAME_FROM
    tracker.follow(between, WIDE)
    assert tracker.crop is None, "from the whole frame: not worth a crop"
    tracker.follow(person_at(0.40, 0.30, 0.10, 0.40), WIDE)
    tracker.follow(between, WIDE)
    assert tracker.crop is not None, "from a crop: it grows and is kept"


def test_a_look_at_the_whole_frame_takes_in_a_newcomer() -> None:
    tracker = RegionTracker(model_aspect=1.0)
    person = person_at(0.40, 0.30, 0.10, 0.40)
    tracker.follow(person, WIDE)  # the whole frame's mask: a crop next
    for _ in range(LOOK_AROUND_EVERY):
        assert not tracker.look_around_due
        tracker.follow(person, WIDE)
    assert tracker.look_around_due
    crop = tracker.crop
    assert crop is not None
    tracker.looked_around(person, WIDE)
    assert tracker.crop == crop and not tracker.look_around_due, "nobody new: the crop stays"
    newcomer = np.maximum(person, person_at(0.85, 0.40, 0.08, 0.5))
    tracker.looked_around(newcomer, WIDE)
    assert tracker.crop is not None and tracker.crop.right >= 0.93, "widened to the newcomer"


@pytest.fixture(scope="module")
def far_astronaut(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 1280x720 frame with the astronaut 300 rows tall in its middle, and the mask a model gives her
    close up (the photo itself) at that size: the reference the far masks are held to, in PHOTO."""
    frame = person_far_in_wide_frame(astronaut, height=300)
    close = MaskPipeline.load(GENERAL, device="cpu").alpha(astronaut)
    return frame, cv2.resize(close, (300, 300), interpolation=cv2.INTER_AREA) > 127


#: Where the photo lies in the far frame (rows, columns); outside it the frame is its edges drawn out.
PHOTO = (slice(210, 510), slice(490, 790))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1))


@pytest.mark.parametrize("model", [GENERAL, LANDSCAPE])
def test_a_person_standing_back_is_segmented_closer_to_her_close_up_mask(
    model: str, far_astronaut: tuple[np.ndarray, np.ndarray]
) -> None:
    frame, reference = far_astronaut
    plain = MaskPipeline.load(model, device="cpu", region_of_interest=False)
    cropped = MaskPipeline.load(model, device="cpu")
    plain.settle_on(frame)
    cropped.settle_on(frame)
    assert cropped.regions is not None and cropped.regions.crop is not None, "a crop around her"
    assert cropped.regions.crop.area < WHOLE_FRAME_FROM
    without = iou(plain.alpha(frame)[PHOTO] > 127, reference)
    with_crop = iou(cropped.alpha(frame)[PHOTO] > 127, reference)
    print(f"{model}: IoU against the close-up mask {without:.3f} on the whole frame, {with_crop:.3f} with the crop")
    assert with_crop > without + 0.03


def test_the_command_line_settles_a_photo_as_the_filter_does(far_astronaut: tuple[np.ndarray, np.ndarray]) -> None:
    """A photo's mask is the one the filter settles on: another mask of it changes nothing visible."""
    frame, _ = far_astronaut
    pipeline = ModelPipelines(GENERAL, device="cpu").for_picture(frame)
    assert pipeline.regions is not None and pipeline.regions.crop is not None
    first, second = pipeline.alpha(frame), pipeline.alpha(frame)
    assert np.abs(first.astype(int) - second.astype(int)).max() <= 2


def test_the_whole_view_of_a_capture_is_the_models_own_resize(astronaut: np.ndarray) -> None:
    """Every other pixel of the double-size capture is what MediaPipe's warp gives from the full frame."""
    pipeline = MaskPipeline.load(LANDSCAPE, device="cpu")
    segmenter = pipeline.segmenter
    frame = cv2.resize(astronaut, (1001, 333))
    capture = segmenter.capture(frame).copy()
    assert capture.shape[:2] == (288, 512)
    direct = np.empty((144, 256, 3), np.uint8)
    segmenter._resize(frame, (256, 144), direct)
    assert np.abs(segmenter.whole_view(capture).astype(int) - direct.astype(int)).max() <= 1
    assert segmenter.whole_view(capture).shape[:2] == (144, 256)


def test_a_full_frame_gives_the_crop_the_pixels_the_filters_capture_holds(astronaut: np.ndarray) -> None:
    """The command line warps only the crop's part of the capture grid: the model input is the same."""
    segmenter = MaskPipeline.load(LANDSCAPE, device="cpu").segmenter
    frame = cv2.resize(astronaut, (1280, 720))
    capture = segmenter.capture(frame).copy()
    crop = Region(0.3, 0.2, 0.3, 0.6)
    window = capture_window(frame, crop, (512, 288))
    assert window.pixels.shape[1] < 0.4 * 512, "only the crop's part is warped"
    from_window = crop_input(window, crop, GRID).astype(int)
    from_capture = crop_input(CaptureWindow.whole(capture), crop, GRID).astype(int)
    assert np.abs(from_window - from_capture).max() <= 1


def test_the_capture_holds_double_detail_only_where_a_crop_can_use_it() -> None:
    manifest = load_manifest()
    landscape, bodypix = manifest.get(LANDSCAPE), manifest.get("bodypix-s16")
    assert capture_size_for(landscape, 1280, 720) == (512, 288)
    assert capture_size_for(landscape, 1280, 720, detailed=False) == mask_size_for(landscape, 1280, 720) == GRID
    assert capture_size_for(bodypix, 1280, 720) == mask_size_for(bodypix, 1280, 720), "an area resize: no detail"


def test_someone_walking_in_at_the_side_is_taken_into_the_crop(astronaut: np.ndarray, camera: np.ndarray) -> None:
    """The model's look at the whole frame every LOOK_AROUND_EVERY masks finds a second person."""
    alone = person_far_in_wide_frame(astronaut, height=300)
    pipeline = MaskPipeline.load(GENERAL, device="cpu")
    pipeline.settle_on(alone)
    first = pipeline.regions.crop if pipeline.regions is not None else None
    assert first is not None and first.right < 0.75
    together = alone.copy()
    together[160:720, 800:1280] = cv2.resize(camera, (480, 560), interpolation=cv2.INTER_AREA)  # x 0.62-1
    for _ in range(LOOK_AROUND_EVERY + 1):
        pipeline.alpha(together)
    widened = pipeline.regions.crop if pipeline.regions is not None else None
    assert widened is None or widened.right > 0.85, f"the crop {widened} still leaves him out"
