"""The composite drawn region by region draws the very picture of the full composite, in the real OBS.

Where the coefficients make the person alpha 1 or 0 for any colour (``obs_blur/alpha_regions.py``)
the filter draws the frame or the background without reading the mask, and the full composite runs
on the band along the outline only. One OBS runs the shipped effect, a second one a variant that
draws every region with the full composite (``effect_variants.composite_in_full``); both segment
the same photo and settle on the same mask, and every mode must come out the same, to the 8-bit
value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from obs_blur.obs.gpu_passes import EFFECT_PATH, EFFECT_VARIABLE

from .conftest import running_obs
from .effect_variants import composite_in_full
from .filter_checks import filter_stats, wait_for_mask, wait_until
from .harness import FILTER_KIND, HeadlessObs

pytestmark = pytest.mark.obs

PHOTO = "Person"
FILTER = "Background"
BLUE = 0xFFFF0000  # OBS colours are 0xAABBGGRR
MODES = (
    ("mask", {}),
    ("blur", {"blur_strength": 50}),
    ("lens", {"blur_strength": 50}),
    ("color", {"bg_color": BLUE}),
    ("transparent", {}),
)


def settled_screenshots(obs: HeadlessObs, photo: Path) -> dict[str, tuple[np.ndarray, dict]]:
    """Each mode's screenshot once the photo's mask has settled, with the filter's stats then."""
    obs.add_image_source(PHOTO, photo)
    obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {"mode": "mask"})
    shots = {}
    for mode, settings in MODES:
        obs.client.set_source_filter_settings(PHOTO, FILTER, {"mode": mode, **settings}, True)
        wait_for_mask(obs, PHOTO, FILTER, status_has=f"({mode} mode")

        def settled() -> dict:
            stats = filter_stats(obs, PHOTO, FILTER)
            return stats if stats.get("still_picture") and stats.get("composite_edge_share") is not None else {}

        stats = wait_until(settled, f"the photo's mask settled in {mode} mode", 20.0, 0.2)
        shots[mode] = (obs.screenshot(PHOTO), stats)
    return shots


def test_the_regions_draw_what_the_full_composite_draws(tmp_path: Path, astronaut_png: Path) -> None:
    variant = tmp_path / "composite-in-full.effect"
    variant.write_text(composite_in_full(EFFECT_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    with running_obs(tmp_path / "shipped") as obs:
        shipped = settled_screenshots(obs, astronaut_png)
    with running_obs(tmp_path / "in-full", environment={EFFECT_VARIABLE: str(variant)}) as obs:
        in_full = settled_screenshots(obs, astronaut_png)

    for mode, _settings in MODES:
        (shot, stats), (reference, _stats) = shipped[mode], in_full[mode]
        difference = np.abs(shot.astype(np.int16) - reference.astype(np.int16))
        print(
            f"{mode}: full composite on {stats['composite_edge_share']:.1%} of the frame; max difference "
            f"{difference.max()}, pixels that differ {np.count_nonzero(difference.max(axis=2))}"
        )
        assert difference.max() <= 1, mode
        assert np.count_nonzero(difference) <= 0.001 * difference.size, mode
        assert stats["composite_edge_share"] < 0.5, mode  # the regions are in use: most of her is sure
