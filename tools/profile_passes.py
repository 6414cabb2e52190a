#!/usr/bin/env python3
"""What each GPU pass of the Background Blur filter costs in the real OBS Studio, by taking it out.

    python tools/profile_passes.py [--sizes 1280x720 1920x1080] [--seconds 6] [--mode blur] [--lens-depth]
                                   [--shipped-only]

A software renderer (llvmpipe) has no GPU timer, and a pass's cost shows up wherever the next pass
waits for its output, so the passes are measured by difference: one OBS per canvas (30 fps) with the
moving photo of ``bench_obs.py``, one filter, and the effect file swapped for variants with one part
replaced by the cheapest thing that keeps the frame flowing (``OBS_BLUR_EFFECT``; an OBS per variant,
since libobs keeps a compiled effect for its path). A variant's figures subtracted from the shipped
effect's are what that part costs. "no filter" is OBS drawing the photo alone.

On llvmpipe the render callback's time is mostly waiting: the first pass that reads the frame
target waits until the rasteriser threads finished everything queued before it. OBS's CPU is the
figure that counts there.

Columns: our ``video_render`` callback (median ms, from the stats file), OBS's
``averageFrameRenderTime``, fps, skipped frames and OBS's CPU (``/proc``, 100 % = every core), as in
``bench_obs.py``, over ``--seconds`` after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_obs import (
    DASH,
    FILTER,
    FPS,
    SOURCE,
    CaseResult,
    StatsReader,
    code_version,
    cpu_model,
    measure,
    parse_size,
    source_picture,
    wait_for_masks,
)

from obs_blur.obs.gpu_passes import EFFECT_PATH, EFFECT_VARIABLE
from tests.obs.conftest import pydeps_for_tests
from tests.obs.harness import FILTER_KIND, HeadlessObs, ObsSettings

#: Each variant: what it takes out, and the (shipped text, replacement) pairs that do it.
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "shipped effect": [],
    "composite without the mask (no coefficient read)": [
        ("return alpha_of(coeffs.Sample(linear_clamp, uv), rgb);", "return alpha_of(float4(0.1, 0.1, 0.1, 0.2), rgb);"),
    ],
    "composite without the blurred background read": [
        ("float4 b = blurred.Sample(linear_clamp, uv);", "float4 b = float4(0.5, 0.5, 0.5, 1.0);"),
    ],
    "composite as a plain copy": [
        (
            "float4 composite_blur(VertData v_in)\n{",
            "float4 composite_blur(VertData v_in)\n{\n\treturn image.Sample(point_clamp, v_in.uv);",
        ),
        (
            "float4 composite_mask(VertData v_in)\n{",
            "float4 composite_mask(VertData v_in)\n{\n\treturn image.Sample(point_clamp, v_in.uv);",
        ),
    ],
    "background blur passes as one read each": [
        (
            "float4 gaussian(VertData v_in)\n{",
            "float4 gaussian(VertData v_in)\n{\n\treturn image.Sample(linear_clamp, v_in.uv);",
        ),
        (
            "float4 PSPremultiplyDown(VertData v_in) : TARGET\n{",
            "float4 PSPremultiplyDown(VertData v_in) : TARGET\n{\n\treturn premultiplied_tap(v_in.uv, "
            "coeffs.Sample(linear_clamp, v_in.uv), 0.0);",
        ),
    ],
}
WARMUP_S = 3.0
READY_TIMEOUT_S = 60.0


def variant_text(shipped: str, replacements: list[tuple[str, str]]) -> str:
    """The effect with ``replacements`` applied; a shipped text that is gone stops the run (the effect changed)."""
    text = shipped
    for old, new in replacements:
        if old not in text:
            raise SystemExit(f"the effect no longer contains {old!r}: update VARIANTS")
        text = text.replace(old, new)
    return text


def profile_canvas(width: int, height: int, args: argparse.Namespace, work: Path) -> list[CaseResult]:
    """OBS alone, then the filter with each effect variant, each in an OBS of its own.

    libobs keeps every effect it compiled by file path for the life of the process, so a variant
    needs a path of its own, and the environment variable that names it needs a new process.
    """
    canvas = f"{width}x{height}"
    photo = source_picture(width, height, args.still, work)
    shipped = EFFECT_PATH.read_text(encoding="utf-8")
    results = []
    variants = list(VARIANTS.items())[: 1 if args.shipped_only else None]
    filter_settings = {"mode": args.mode, **({"lens_depth": True} if args.lens_depth else {})}
    for index, (name, replacements) in enumerate(variants):
        effect_file = work / f"variant-{index}.effect"
        effect_file.write_text(variant_text(shipped, replacements), encoding="utf-8")
        stats = StatsReader(work / f"stats-{canvas}-{index}.json")
        environment = {"OBS_BLUR_STATS": str(stats.path), EFFECT_VARIABLE: str(effect_file)}
        settings = ObsSettings(width=width, height=height, fps=FPS, pydeps=pydeps_for_tests(), environment=environment)
        run = HeadlessObs(work / f"obs-{canvas}-{index}", settings).start()
        try:
            run.add_image_source(SOURCE, photo)
            time.sleep(WARMUP_S)
            if index == 0:
                results.append(measure(run, canvas, "no filter", args.seconds, stats, lambda _elapsed: None))
            run.client.create_source_filter(SOURCE, FILTER, FILTER_KIND, filter_settings)
            if wait_for_masks(stats, READY_TIMEOUT_S) is None:
                raise SystemExit(f"no mask with the variant {name!r}: see {run.log_path}")
            time.sleep(WARMUP_S)
            results.append(measure(run, canvas, name, args.seconds, stats, lambda _elapsed: None))
        finally:
            run.stop()
    return results


def render_median(result: CaseResult) -> Optional[float]:
    return result.render_ms["median"] if result.render_ms else None


TABLE_HEADER = (
    "canvas",
    "variant",
    "render ms median",
    "render ms saved",
    "OBS CPU %",
    "CPU points saved",
    "OBS frame ms",
    "fps",
    "skipped",
)


def saved(shipped: Optional[float], variant: Optional[float], form: str) -> str:
    return DASH if shipped is None or variant is None else form.format(shipped - variant)


def table(results: list[CaseResult]) -> list[str]:
    """One row per variant; the savings against the shipped effect are what the part taken out costs."""
    shipped = next((result for result in results if result.case == "shipped effect"), None)
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for result in results:
        median = render_median(result)
        compared = shipped if shipped is not None and result.case not in ("shipped effect", "no filter") else None
        cells = [
            result.canvas,
            result.case,
            DASH if median is None else f"{median:.2f}",
            saved(render_median(compared) if compared else None, median, "{:.2f}"),
            f"{result.obs_cpu_percent:.0f}",
            saved(compared.obs_cpu_percent if compared else None, result.obs_cpu_percent, "{:.0f}"),
            f"{result.obs_frame_ms:.2f}",
            f"{result.fps:.1f}",
            str(result.skipped),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"], help="canvas sizes, WIDTHxHEIGHT")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured window per variant")
    parser.add_argument("--mode", default="blur", help="the filter's mode")
    parser.add_argument("--lens-depth", action="store_true", help="lens mode: the disc smaller next to the person")
    parser.add_argument("--still", action="store_true", help="a still photo instead of the moving one")
    parser.add_argument("--shipped-only", action="store_true", help="OBS alone and the shipped effect, no variants")
    args = parser.parse_args(argv)
    print(f"$ python tools/profile_passes.py {' '.join(sys.argv[1:] if argv is None else argv)}\n")
    print(f"Machine: {cpu_model()}; obs-blur {code_version()}\n")
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="obs-blur-profile-") as work:
        for size in args.sizes:
            results = profile_canvas(*parse_size(size), args, Path(work))
            lines += table(results) if not lines else table(results)[2:]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
