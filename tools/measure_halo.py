#!/usr/bin/env python3
"""The halo figure: how much of the person's colour leaks into the blurred background around them.

    python tools/measure_halo.py [--strengths 25 50 100] [--obs] [--json FILE] [--save-pictures DIR]

A plain blur of the whole frame smears the person's colours into the background around them (the
most reported visual defect of other background-blur tools). To measure that leak and nothing else,
the test picture has a *known* background: a person cut out of a real photo (scikit-image's astronaut)
with a fixed, hand-drawn mask (ellipses and polygons defined below, not a model's output), pasted
onto a plain background. A plain background blurred is itself, so in the band 4-30 px outside the
person any difference between the output and the plain background is halo. The band starts at 4 px
so that the anti-aliased edge and a model mask's slight softness do not count.

Rows (mean absolute difference in grey levels over the band's pixels and the three channels):

* **naive whole-frame Gaussian**: blur the whole frame (the compositor's sigma for that strength),
  then paste the sharp person over it with the hand-made mask;
* **CPU reference compositor**: ``obs_blur.compositor.composite`` with the hand-made mask as alpha;
* **OBS filter** (``--obs``): the picture as an image source in a headless OBS with ``obs_blur_filter``
  in blur mode, read back with ``GetSourceScreenshot``. The filter uses its own model's mask, so this
  row includes the model's mask error; ``mask IoU`` compares the filter's mask (mode ``mask``) with
  the hand-made one. ``OBS, no filter`` is the floor of that measurement (OBS's own colour handling).

On a plain background a perfect halo-free blur returns the picture unchanged, so a pass-through filter
would also score 0: the OBS rows say "pass-through" when the filter's mask-mode output equals its
input, i.e. when the filter did not process frames.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obs_blur.blur_plan import blur_sigma
from obs_blur.compositor import CompositeSettings, composite

#: The picture's size: the harness's default OBS canvas, so the OBS row needs no scaling.
PICTURE_WIDTH, PICTURE_HEIGHT = 1280, 720
#: Plain backgrounds (B, G, R): a neutral grey and a blue-grey "wall".
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "grey (128,128,128)": (128, 128, 128),
    "blue (164,101,52)": (164, 101, 52),
}
#: The band outside the person where the halo is measured, in pixels from the mask.
BAND_NEAR_PX, BAND_FAR_PX = 4, 30
DEFAULT_STRENGTHS = (25, 50, 100)

# The hand-made person mask, in the 512x512 astronaut's pixel coordinates: her hair and face, her neck,
# her suit (collar ring, shoulders, left arm, chest down to the photo's bottom edge) and the helmet she
# holds. Traced by eye on a 16 px grid; the edges are within a few pixels of the real outline.
HEAD_POLYGON = (
    (229, 15), (243, 16), (263, 23), (283, 40), (296, 63), (301, 90), (296, 110), (283, 127), (273, 133),
    (266, 140), (261, 157), (253, 168), (239, 178), (223, 182), (206, 177), (193, 167), (184, 147), (181, 128),
    (174, 122), (168, 115), (156, 97), (154, 72), (163, 55), (193, 30),
)  # fmt: skip
NECK_POLYGON = ((186, 150), (262, 145), (262, 172), (195, 178))
TORSO_POLYGON = (
    (176, 147), (200, 158), (240, 170), (256, 168), (283, 192), (301, 218), (306, 233), (329, 247), (343, 260),
    (353, 287), (360, 325), (362, 345), (300, 400), (290, 512), (30, 512), (22, 450), (20, 380), (30, 320),
    (50, 260), (80, 230), (96, 216), (114, 206), (116, 196), (129, 173), (149, 157),
)  # fmt: skip
HELMET_ELLIPSE = ((395.0, 435.0), (112.0, 93.0))  # centre (x, y), semi-axes (x, y)
_SUBPIXEL_BITS = 4  # cv2 drawing takes fixed-point coordinates: 1/16 px


@dataclass(frozen=True)
class HaloPicture:
    """The composed picture (BGR), its hand-made alpha (255 = person) and the plain background colour."""

    name: str
    picture: np.ndarray
    alpha: np.ndarray
    background: tuple[int, int, int]

    def plain_background(self) -> np.ndarray:
        plain = np.empty_like(self.picture)
        plain[:] = np.asarray(self.background, np.uint8)
        return plain


@dataclass
class HaloRow:
    background: str
    method: str
    halo: dict[int, Optional[float]]  # strength -> mean |difference| in grey levels (None: not measured)
    note: str = ""


def _placement() -> tuple[float, int, int]:
    """Scale and offset that put the 512x512 photo bottom-centre in the picture, full height."""
    scale = PICTURE_HEIGHT / 512
    return scale, (PICTURE_WIDTH - 512 * scale) / 2, PICTURE_HEIGHT - 512 * scale


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def hand_made_alpha() -> np.ndarray:
    """The person mask at picture size, drawn anti-aliased from the shapes above (uint8, 255 = person)."""
    scale, x0, y0 = _placement()
    alpha = np.zeros((PICTURE_HEIGHT, PICTURE_WIDTH), np.uint8)
    for polygon in (HEAD_POLYGON, NECK_POLYGON, TORSO_POLYGON):
        points = np.asarray(polygon, np.float64) * scale + (x0, y0)
        cv2.fillPoly(alpha, [_fixed(points)], 255, cv2.LINE_AA, _SUBPIXEL_BITS)
    (cx, cy), (ax, ay) = HELMET_ELLIPSE
    centre = _fixed(np.array([cx * scale + x0, cy * scale + y0]))
    axes = _fixed(np.array([ax * scale, ay * scale]))
    cv2.ellipse(alpha, tuple(centre), tuple(axes), 0, 0, 360, 255, -1, cv2.LINE_AA, _SUBPIXEL_BITS)
    return alpha


def astronaut_in_picture() -> np.ndarray:
    """scikit-image's astronaut (BGR) scaled to the picture's height, bottom-centre, black elsewhere."""
    from skimage import data

    scale, x0, y0 = _placement()
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    transform = np.array([[scale, 0, x0], [0, scale, y0]], np.float64)
    return cv2.warpAffine(photo, transform, (PICTURE_WIDTH, PICTURE_HEIGHT), flags=cv2.INTER_CUBIC)


def build_picture(name: str, background: tuple[int, int, int]) -> HaloPicture:
    """The person pasted onto a plain background through the hand-made (anti-aliased) mask."""
    alpha = hand_made_alpha()
    person = astronaut_in_picture()
    plain = np.empty_like(person)
    plain[:] = np.asarray(background, np.uint8)
    weight = alpha.astype(np.float32)[..., None] / 255
    picture = np.clip(person * weight + plain * (1 - weight) + 0.5, 0, 255).astype(np.uint8)
    return HaloPicture(name, picture, alpha, background)


def halo_band(alpha: np.ndarray) -> np.ndarray:
    """Pixels 4-30 px from the nearest pixel the mask touches (bool)."""
    distance = cv2.distanceTransform(np.where(alpha > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    return (distance >= BAND_NEAR_PX) & (distance <= BAND_FAR_PX)


def halo(output_bgr: np.ndarray, test: HaloPicture) -> float:
    """Mean absolute difference from the plain background in the band, in grey levels."""
    band = halo_band(test.alpha)
    difference = np.abs(output_bgr[..., :3].astype(np.int16) - test.plain_background().astype(np.int16))
    return float(difference[band].mean())


def naive_composite(test: HaloPicture, strength: float) -> np.ndarray:
    """What a plain blur does: Gaussian over the whole frame, sharp person pasted on top with the mask."""
    sigma = blur_sigma(PICTURE_HEIGHT, strength)
    blurred = (
        cv2.GaussianBlur(test.picture, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0 else test.picture
    )
    weight = test.alpha.astype(np.float32)[..., None] / 255
    return np.clip(test.picture * weight + blurred * (1 - weight) + 0.5, 0, 255).astype(np.uint8)


#: The blurs measured (``--mode``): the filter's settings for each, besides its strength.
BLURS: dict[str, dict[str, Any]] = {
    "blur": {"mode": "blur"},
    "lens": {"mode": "lens"},
    "lens-depth": {"mode": "lens", "lens_depth": True},
}


def reference_composite(test: HaloPicture, strength: float, mode: str = "blur") -> np.ndarray:
    """Our CPU reference compositor with the hand-made mask as the person alpha (``mode``: a key of ``BLURS``)."""
    return composite(test.picture, test.alpha, CompositeSettings(strength=strength, **BLURS[mode]))


def cpu_rows(tests: list[HaloPicture], strengths: list[int], mode: str = "blur") -> list[HaloRow]:
    """The naive and the reference compositor rows for every background."""
    rows = []
    for test in tests:
        naive = {strength: halo(naive_composite(test, strength), test) for strength in strengths}
        ours = {strength: halo(reference_composite(test, strength, mode), test) for strength in strengths}
        rows += [
            HaloRow(test.name, "naive whole-frame Gaussian", naive),
            HaloRow(test.name, f"CPU reference compositor, {mode} mode", ours),
        ]
    return rows


# --- real OBS ---------------------------------------------------------------------------------------
SOURCE = "Halo picture"
FILTER = "Background Blur"
_SETTLE_AFTER_PICTURE_S = 4.0  # the worker's first masks and the temporal smoothing converging
_SETTLE_AFTER_STRENGTH_S = 1.0
_SCREENSHOTS = 3
FILTER_METHOD = "OBS filter (`obs_blur_filter`, {mode} mode)"


def mask_iou(model_alpha: np.ndarray, alpha: np.ndarray) -> float:
    """Intersection over union of the filter's mask (mode ``mask``, as grey levels) and the hand-made one."""
    predicted = model_alpha >= 128
    truth = alpha >= 128
    return float((predicted & truth).sum() / max(1, (predicted | truth).sum()))


def obs_rows(
    tests: list[HaloPicture], strengths: list[int], work: Path, save_to: Optional[Path] = None, mode: str = "blur"
) -> tuple[list[HaloRow], list[str]]:
    """The OBS rows: one image source, its file switched per background; without and with the filter."""
    from tests.obs.conftest import pydeps_for_tests
    from tests.obs.harness import FILTER_KIND, HeadlessObs, ObsSettings

    settings = ObsSettings(width=PICTURE_WIDTH, height=PICTURE_HEIGHT, pydeps=pydeps_for_tests())
    run = HeadlessObs(work / "obs-run", settings).start()
    rows: list[HaloRow] = []
    try:
        files = {test.name: _write_png(test.picture, work / f"picture-{index}.png") for index, test in enumerate(tests)}
        run.add_image_source(SOURCE, files[tests[0].name])
        for test in tests:
            _show_picture(run, files[test.name], test)
            floor = _obs_halo(run, test)
            rows.append(HaloRow(test.name, "OBS, no filter (measurement floor)", dict.fromkeys(strengths, floor)))
        run.client.create_source_filter(SOURCE, FILTER, FILTER_KIND, {"mode": "blur"})
        for index, test in enumerate(tests):
            rows += _obs_filter_rows(run, files[test.name], test, (strengths, mode), _numbered(save_to, index))
        log = run.log_text()
        notes = [f"OBS: {line.strip()}" for line in log.splitlines() if "Loading up OpenGL on adapter" in line]
        notes += [f"OBS log shows a Python error: {error}" for error in run.python_errors()[:3]]
    finally:
        run.stop()
    return rows, notes


def _numbered(folder: Optional[Path], index: int) -> Optional[Path]:
    """Where to save one background's OBS screenshots (a file name prefix), or None."""
    return None if folder is None else folder / f"obs-{index}"


def _write_png(picture: np.ndarray, path: Path) -> Path:
    if not cv2.imwrite(str(path), picture):
        raise OSError(f"cannot write {path}")
    return path


def _show_picture(run: Any, file: Path, test: HaloPicture, timeout_s: float = 10.0) -> None:
    """Point the image source at ``file`` and wait until OBS shows it (the source reloads on the next tick)."""
    run.client.set_input_settings(SOURCE, {"file": str(file)}, True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shot = run.screenshot_or_none(SOURCE)  # None while the source reloads its file
        if shot is not None and shot.shape[:2] == test.picture.shape[:2] and _background_matches(shot, test):
            return
        time.sleep(0.1)
    raise TimeoutError(f"OBS never showed {file}")


def _background_matches(shot_rgba: np.ndarray, test: HaloPicture) -> bool:
    corner_bgr = shot_rgba[:8, :8, 2::-1].reshape(-1, 3).mean(axis=0)
    return bool(np.abs(corner_bgr - np.asarray(test.background)).max() < 3)


def _obs_screenshot_bgr(run: Any) -> np.ndarray:
    return cv2.cvtColor(run.screenshot(SOURCE), cv2.COLOR_RGBA2BGR)


def _obs_halo(run: Any, test: HaloPicture, save_as: Optional[Path] = None) -> float:
    """The halo averaged over a few screenshots (the model's mask moves a little from frame to frame)."""
    values = []
    for _ in range(_SCREENSHOTS):
        shot = _obs_screenshot_bgr(run)
        values.append(halo(shot, test))
        time.sleep(0.2)
    if save_as is not None:
        cv2.imwrite(str(save_as), shot)
    return float(np.mean(values))


def _obs_filter_rows(
    run: Any, file: Path, test: HaloPicture, plan: tuple[list[int], str], save_prefix: Optional[Path]
) -> list[HaloRow]:
    """The filter's halo at each strength, and our CPU compositor fed the filter's own mask.

    The second row splits the filter's halo into its causes: if the CPU compositor with the same mask
    shows the same halo, it comes from the model's mask (person pixels it calls background), not from
    the GPU compositing.
    """
    strengths, mode = plan
    method = FILTER_METHOD.format(mode=mode)
    _show_picture(run, file, test)
    run.client.set_source_filter_settings(SOURCE, FILTER, {"mode": "mask"}, True)
    time.sleep(_SETTLE_AFTER_PICTURE_S)
    mask_shot = _obs_screenshot_bgr(run)
    if _mean_abs_diff(mask_shot, test.picture) < 1.0:
        return [HaloRow(test.name, method, dict.fromkeys(strengths), "pass-through: the filter did not process frames")]
    model_alpha = cv2.cvtColor(mask_shot, cv2.COLOR_BGR2GRAY)
    with_model_mask = HaloPicture(test.name, test.picture, model_alpha, test.background)
    filtered: dict[int, Optional[float]] = {}
    for strength in strengths:
        run.client.set_source_filter_settings(SOURCE, FILTER, {**BLURS[mode], "blur_strength": strength}, True)
        time.sleep(_SETTLE_AFTER_STRENGTH_S)
        save_as = None if save_prefix is None else save_prefix.with_name(f"{save_prefix.name}-s{strength}.png")
        filtered[strength] = _obs_halo(run, test, save_as)
    if save_prefix is not None:
        cv2.imwrite(str(save_prefix.with_name(f"{save_prefix.name}-mask.png")), model_alpha)
    cpu = {strength: halo(reference_composite(with_model_mask, strength, mode), test) for strength in strengths}
    return [
        HaloRow(test.name, method, filtered, f"mask IoU {mask_iou(model_alpha, test.alpha):.3f}"),
        HaloRow(
            test.name,
            "blur weights from the filter's visible mask only",
            cpu,
            "what the wider weight band (edge_band.WEIGHT_BAND) removes",
        ),
    ]


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --- output -----------------------------------------------------------------------------------------
def markdown_table(rows: list[HaloRow], strengths: list[int]) -> list[str]:
    header = ["background", "method", *(f"strength {s}" for s in strengths), "note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = ["\N{EN DASH}" if row.halo.get(s) is None else f"{row.halo[s]:.2f}" for s in strengths]
        lines.append("| " + " | ".join([row.background, row.method, *cells, row.note]) + " |")
    return lines


def _arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strengths", type=int, nargs="+", default=list(DEFAULT_STRENGTHS), help="0-100")
    parser.add_argument("--obs", action="store_true", help="also measure the filter in a headless OBS (obs, Xvfb)")
    parser.add_argument("--mode", choices=tuple(BLURS), default="blur", help="the background blur measured")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--save-pictures", type=Path, help="write the test pictures and CPU outputs here as PNG")
    return parser.parse_args(argv)


def _save_pictures(folder: Path, tests: list[HaloPicture], strengths: list[int]) -> None:
    """For looking at: the pictures, the mask and, at the strongest setting, both CPU composites."""
    cv2.imwrite(str(folder / "hand_made_mask.png"), tests[0].alpha)
    for index, test in enumerate(tests):
        cv2.imwrite(str(folder / f"picture-{index}.png"), test.picture)
        cv2.imwrite(str(folder / f"naive-{index}-s{max(strengths)}.png"), naive_composite(test, max(strengths)))
        cv2.imwrite(str(folder / f"reference-{index}-s{max(strengths)}.png"), reference_composite(test, max(strengths)))


def main(argv: Optional[list[str]] = None) -> int:
    args = _arguments(argv)
    if args.save_pictures:
        args.save_pictures.mkdir(parents=True, exist_ok=True)
    tests = [build_picture(name, colour) for name, colour in BACKGROUNDS.items()]
    rows = cpu_rows(tests, args.strengths, args.mode)
    notes: list[str] = []
    if args.obs:
        with tempfile.TemporaryDirectory(prefix="obs-blur-halo-") as work:
            obs_results, notes = obs_rows(tests, args.strengths, Path(work), args.save_pictures, args.mode)
        rows += obs_results
    print("$ " + " ".join(["python", "tools/measure_halo.py", *(argv if argv is not None else sys.argv[1:])]))
    print(
        f"\nHalo: mean |output - plain background| in grey levels, {BAND_NEAR_PX}-{BAND_FAR_PX} px outside the "
        f"hand-made mask; {PICTURE_WIDTH}x{PICTURE_HEIGHT} picture; sigma = {blur_sigma(PICTURE_HEIGHT, 100):.1f} px "
        "x strength/100.\n"
    )
    print("\n".join(markdown_table(rows, args.strengths)))
    for note in notes:
        print(f"\n{note}")
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=1))
    if args.save_pictures:
        _save_pictures(args.save_pictures, tests, args.strengths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
