"""``tools/profile_passes.py`` can still take each part out of the shipped effect.

Each of its variants replaces a piece of ``background_blur.effect`` text; when the effect changes
under it, the tool stops with "update VARIANTS", but only when somebody runs it, which takes minutes
of OBS per variant. This keeps the variants in step with the effect at every test run.
"""

from __future__ import annotations

import pytest

from .script_modules import load_tool

pytestmark = pytest.mark.obs
profile_passes = load_tool("profile_passes")


def test_each_profile_variant_applies_to_the_shipped_effect() -> None:
    shipped = profile_passes.EFFECT_PATH.read_text(encoding="utf-8")

    for name, replacements in profile_passes.VARIANTS.items():
        variant = profile_passes.variant_text(shipped, replacements)
        assert (variant == shipped) == (name == "shipped effect"), name


def test_the_table_reports_medians_over_obs_alone_per_run() -> None:
    def case(name: str, cpu: float) -> profile_passes.CaseResult:
        return profile_passes.CaseResult("1280x720", name, 10.0, 20.0, 30.0, 0, 1, cpu, cpu, 5.0, 0.0, {"median": 18.0})

    def run(name: str, alone: float, filtered: float) -> profile_passes.PairedRun:
        return profile_passes.PairedRun(name, case("no filter", alone), case(name, filtered))

    runs = [
        run("shipped effect", 32.0, 66.0),  # +34
        run("composite as a plain copy", 40.0, 62.0),  # +22 in a slower run
        run("shipped effect", 38.0, 74.0),  # +36
        run("composite as a plain copy", 31.0, 51.0),  # +20
        run("shipped effect", 31.0, 71.0),  # +40
        run("composite as a plain copy", 33.0, 57.0),  # +24
    ]
    rows = {line.split(" | ")[1]: line.split(" | ") for line in profile_passes.table(runs)[2:]}

    assert rows["shipped effect"][2:7] == ["3", "32", "71", "+36 (+34 to +40)", profile_passes.DASH]
    assert rows["composite as a plain copy"][2:7] == ["3", "33", "57", "+22 (+20 to +24)", "14"]
    assert rows["shipped effect"][-1].rstrip(" |") == "3"  # skipped frames of all three runs
