#!/usr/bin/env python3
"""Regenerate the README's pictures from a real headless OBS run.

    .venv/bin/python tools/make_readme_images.py [--out docs/images]

(after ``bash tools/run_tests.sh`` once, which installs OBS and the dependencies for OBS's Python)

Starts Debian's OBS under Xvfb (the test harness), shows scikit-image's astronaut photo as a camera
would (1280x720), adds the Background Blur filter with its default settings, and writes:

* ``before-after.jpg``: OBS's own render of the source without and with the filter, side by side;
* ``blur-and-lens.jpg``: the same source with the default blur and with the lens blur, side by side;
* ``filter-properties.png``: OBS's Filters dialog with the filter's properties, captured from the
  virtual screen.

Nothing here is drawn by hand: if the filter or its properties change, run this again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.obs.conftest import pydeps_for_tests  # noqa: E402
from tests.obs.filter_checks import stats_file, wait_for_mask  # noqa: E402
from tests.obs.harness import HeadlessObs, ObsSettings  # noqa: E402

SOURCE = "Camera"
FILTER = "Background Blur"
SIZE = (1280, 720)


def camera_frame(path: Path) -> Path:
    """The astronaut photo cropped to 16:9, as a webcam would frame it."""
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    scale = SIZE[0] / photo.shape[1]
    resized = cv2.resize(photo, (SIZE[0], round(photo.shape[0] * scale)), interpolation=cv2.INTER_CUBIC)
    top = (resized.shape[0] - SIZE[1]) // 3
    cv2.imwrite(str(path), resized[top : top + SIZE[1]])
    return path


def _bgr(screenshot: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(screenshot, cv2.COLOR_RGBA2BGR)


def before_after(obs: HeadlessObs) -> np.ndarray:
    """Source without and with the filter, half size each, with a thin divider."""
    after = _bgr(obs.screenshot(SOURCE))
    obs.client.set_source_filter_enabled(SOURCE, FILTER, False)
    time.sleep(0.5)
    before = _bgr(obs.screenshot(SOURCE))
    obs.client.set_source_filter_enabled(SOURCE, FILTER, True)
    half = (SIZE[0] // 2, SIZE[1] // 2)
    divider = np.full((half[1], 4, 3), 255, np.uint8)
    return np.hstack([cv2.resize(before, half, interpolation=cv2.INTER_AREA), divider,
                      cv2.resize(after, half, interpolation=cv2.INTER_AREA)])


def blur_and_lens(obs: HeadlessObs) -> np.ndarray:
    """The default blur and the lens blur at strength 70, half size each, with a thin divider."""
    shots = []
    for mode in ("blur", "lens"):
        obs.client.set_source_filter_settings(SOURCE, FILTER, {"mode": mode, "blur_strength": 70}, True)
        wait_for_mask(obs, SOURCE, FILTER, timeout_s=30, status_has=f"({mode} mode, strength 70)")
        half = (SIZE[0] // 2, SIZE[1] // 2)
        shots.append(cv2.resize(_bgr(obs.screenshot(SOURCE)), half, interpolation=cv2.INTER_AREA))
    obs.client.set_source_filter_settings(SOURCE, FILTER, {"mode": "blur", "blur_strength": 50}, True)
    wait_for_mask(obs, SOURCE, FILTER, timeout_s=30, status_has="(blur mode, strength 50)")
    return np.hstack([shots[0], np.full((SIZE[1] // 2, 4, 3), 255, np.uint8), shots[1]])


def _window_named(root: Any, prefix: str) -> Any:
    """Depth-first search of the X window tree for a mapped window whose title starts with ``prefix``."""
    for child in root.query_tree().children:
        name = child.get_wm_name()
        if isinstance(name, str) and name.startswith(prefix):
            return child
        found = _window_named(child, prefix)
        if found is not None:
            return found
    return None


def filters_dialog(obs: HeadlessObs, display_name: str) -> np.ndarray:
    """Open OBS's Filters dialog for the source and grab its pixels from the virtual screen."""
    from Xlib import X, display

    obs.client.open_input_filters_dialog(SOURCE)
    screen = display.Display(display_name)
    root = screen.screen().root
    deadline = time.monotonic() + 15
    window = None
    while window is None and time.monotonic() < deadline:
        time.sleep(0.5)
        window = _window_named(root, "Filters for")
    if window is None:
        raise RuntimeError("OBS's Filters dialog did not appear")
    window.configure(width=900, height=1064)  # tall enough to show every property and the status line
    screen.sync()
    time.sleep(2.0)  # let Qt finish laying out the properties view
    geometry = window.get_geometry()
    origin = window.translate_coords(root, 0, 0)
    raw = root.get_image(-origin.x, -origin.y, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
    pixels = np.frombuffer(raw.data, np.uint8).reshape(geometry.height, geometry.width, 4)
    return np.ascontiguousarray(pixels[..., :3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = REPO_ROOT / ".cache" / "readme-images"
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = ObsSettings(
        width=SIZE[0],
        height=SIZE[1],
        pydeps=pydeps_for_tests(),  # OBS_BLUR_PYDEPS, or the folder tools/run_tests.sh filled via install.py
        environment={"OBS_BLUR_STATS": str(run_dir / "stats.json")},
    )
    obs = HeadlessObs(run_dir, settings)
    obs.start()
    try:
        assert stats_file(obs) == run_dir / "stats.json"
        obs.add_image_source(SOURCE, camera_frame(run_dir / "camera.png"))
        obs.client.create_source_filter(SOURCE, FILTER, "obs_blur_filter", {})
        wait_for_mask(obs, SOURCE, FILTER, timeout_s=60)
        time.sleep(1.0)  # a few more masks: temporal smoothing settles
        cv2.imwrite(str(args.out / "before-after.jpg"), before_after(obs), [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(args.out / "blur-and-lens.jpg"), blur_and_lens(obs), [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(args.out / "filter-properties.png"), filters_dialog(obs, obs._processes.display))
    finally:
        obs.stop()
    print(f"wrote before-after.jpg, blur-and-lens.jpg and filter-properties.png in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
