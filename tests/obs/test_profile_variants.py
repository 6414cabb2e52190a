"""``tools/profile_passes.py`` can still take each part out of the shipped effect.

Each of its variants replaces a piece of ``background_blur.effect`` text; when the effect changes
under it, the tool stops with "update VARIANTS", but only when somebody runs it, which takes minutes
of OBS per variant. This keeps the variants in step with the effect at every test run.
"""

from __future__ import annotations

import sys

import pytest

from .harness import REPO_ROOT

pytestmark = pytest.mark.obs


def test_each_profile_variant_applies_to_the_shipped_effect() -> None:
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    try:
        import profile_passes
    finally:
        sys.path.remove(str(REPO_ROOT / "tools"))
    shipped = profile_passes.EFFECT_PATH.read_text(encoding="utf-8")

    for name, replacements in profile_passes.VARIANTS.items():
        variant = profile_passes.variant_text(shipped, replacements)
        assert (variant == shipped) == (name == "shipped effect"), name
