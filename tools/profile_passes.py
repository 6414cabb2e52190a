#!/usr/bin/env python3
"""What each GPU pass of the Background Blur filter costs in the real OBS Studio, by taking it out.

    python tools/profile_passes.py [--sizes 1280x720 1920x1080] [--seconds 6] [--rounds 1] [--mode blur]
                                   [--lens-depth] [--shipped-only]

A software renderer (llvmpipe) has no GPU timer, and a pass's cost shows up wherever the next pass
waits for its output, so the passes are measured by difference: one OBS per canvas (30 fps) with the
moving photo of ``bench_obs.py``, one filter, and the effect file swapped for variants with one part
replaced by the cheapest thing that keeps the frame flowing (``OBS_BLUR_EFFECT``; an OBS per variant,
since libobs keeps a compiled effect for its path). Each OBS first measures the photo alone, so
every run gives the filter's cost over OBS alone in the same process; a variant's cost subtracted
from the shipped effect's is what that part costs. ``--rounds`` repeats every variant, interleaved,
and reports medians: this kind of machine drifts by several points of CPU from one run to the next.

On llvmpipe the render callback's time is mostly waiting: the first pass that reads the frame
target waits until the rasteriser threads finished everything queued before it. OBS's CPU is the
figure that counts there.

Columns: OBS's CPU alone and with the filter (``/proc``, 100 % = every core) and their difference
per run (median and range over the rounds), the points a variant saves against the shipped
effect, our ``video_render`` callback (median ms, from the stats file), OBS's
``averageFrameRenderTime``, the lowest fps and the skipped frames of all rounds, as in
``bench_obs.py``, each window ``--seconds`` long after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PairedRun:
    """One OBS: the photo alone, then with the filter drawing through one variant of the effect."""

    variant: str
    alone: CaseResult
    filtered: CaseResult

    @property
    def over_alone(self) -> float:
        """OBS's CPU with the filter minus without it in the same OBS: the figure that drifts least."""
        return self.filtered.obs_cpu_percent - self.alone.obs_cpu_percent


def profile_canvas(width: int, height: int, args: argparse.Namespace, work: Path) -> list[PairedRun]:
    """Each effect variant in an OBS of its own, ``--rounds`` times, the variants interleaved.

    libobs keeps every effect it compiled by file path for the life of the process, so a variant
    needs a path of its own, and the environment variable that names it needs a new process. Each
    OBS measures the photo alone before the filter is added: a shared machine's speed drifts by more
    between runs than most passes cost, and the difference within one OBS cancels that drift.
    """
    canvas = f"{width}x{height}"
    photo = source_picture(width, height, args.still, work)
    shipped = EFFECT_PATH.read_text(encoding="utf-8")
    runs = []
    variants = list(VARIANTS.items())[: 1 if args.shipped_only else None]
    filter_settings = {"mode": args.mode, **({"lens_depth": True} if args.lens_depth else {})}
    effect_files = [work / f"variant-{index}.effect" for index in range(len(variants))]
    for effect_file, (_name, replacements) in zip(effect_files, variants):
        effect_file.write_text(variant_text(shipped, replacements), encoding="utf-8")
    for round_number in range(args.rounds):
        for index, ((name, _replacements), effect_file) in enumerate(zip(variants, effect_files)):
            stats = StatsReader(work / f"stats-{canvas}-{index}-{round_number}.json")
            environment = {"OBS_BLUR_STATS": str(stats.path), EFFECT_VARIABLE: str(effect_file)}
            settings = ObsSettings(
                width=width, height=height, fps=FPS, pydeps=pydeps_for_tests(), environment=environment
            )
            run = HeadlessObs(work / f"obs-{canvas}-{index}-{round_number}", settings).start()
            try:
                run.add_image_source(SOURCE, photo)
                time.sleep(WARMUP_S)
                alone = measure(run, canvas, "no filter", args.seconds, stats, lambda _elapsed: None)
                run.client.create_source_filter(SOURCE, FILTER, FILTER_KIND, filter_settings)
                if wait_for_masks(stats, READY_TIMEOUT_S) is None:
                    raise SystemExit(f"no mask with the variant {name!r}: see {run.log_path}")
                time.sleep(WARMUP_S)
                filtered = measure(run, canvas, name, args.seconds, stats, lambda _elapsed: None)
            finally:
                run.stop()
            runs.append(PairedRun(name, alone, filtered))
    return runs


TABLE_HEADER = (
    "canvas",
    "variant",
    "runs",
    "OBS alone %",
    "with the filter %",
    "over OBS alone, points: median (range)",
    "points saved",
    "render ms median",
    "OBS frame ms",
    "fps (lowest)",
    "skipped",
)


def _render_median(run: PairedRun) -> Optional[float]:
    return run.filtered.render_ms["median"] if run.filtered.render_ms else None


def table(runs: list[PairedRun]) -> list[str]:
    """One row per variant, medians over its runs; "points saved" (the shipped effect's median over
    OBS alone minus the variant's) is what the part taken out costs."""
    by_variant: dict[str, list[PairedRun]] = {}
    for run in runs:
        by_variant.setdefault(run.variant, []).append(run)
    shipped = by_variant.get("shipped effect")
    shipped_over = statistics.median([run.over_alone for run in shipped]) if shipped else None
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for name, variant_runs in by_variant.items():
        over = [run.over_alone for run in variant_runs]
        median_over = statistics.median(over)
        renders = [ms for ms in map(_render_median, variant_runs) if ms is not None]
        cells = [
            variant_runs[0].filtered.canvas,
            name,
            str(len(variant_runs)),
            f"{statistics.median([run.alone.obs_cpu_percent for run in variant_runs]):.0f}",
            f"{statistics.median([run.filtered.obs_cpu_percent for run in variant_runs]):.0f}",
            f"{median_over:+.0f} ({min(over):+.0f} to {max(over):+.0f})",
            DASH if shipped_over is None or name == "shipped effect" else f"{shipped_over - median_over:.0f}",
            DASH if not renders else f"{statistics.median(renders):.2f}",
            f"{statistics.median([run.filtered.obs_frame_ms for run in variant_runs]):.2f}",
            f"{min(run.filtered.fps for run in variant_runs):.1f}",
            str(sum(run.filtered.skipped for run in variant_runs)),
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
    parser.add_argument("--rounds", type=int, default=1, help="runs of every variant, interleaved; medians reported")
    args = parser.parse_args(argv)
    print(f"$ python tools/profile_passes.py {' '.join(sys.argv[1:] if argv is None else argv)}\n")
    print(f"Machine: {cpu_model()}; obs-blur {code_version()}\n")
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="obs-blur-profile-") as work:
        for size in args.sizes:
            runs = profile_canvas(*parse_size(size), args, Path(work))
            lines += table(runs) if not lines else table(runs)[2:]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
