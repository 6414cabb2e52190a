"""Variants of the filter's effect file, for tests and tools that compare what a part of it does.

An OBS loads a variant instead of the shipped file when ``OBS_BLUR_EFFECT`` names it
(``gpu_passes.effect_path``); libobs keeps each compiled effect by path, so a variant needs an OBS
of its own.
"""

from __future__ import annotations

import re

_SURE_REGION = re.compile(
    r"technique (Composite\w+?)(Inside|Outside) \{ pass \{ "
    r"vertex_shader = VSDefault\(v_in\); pixel_shader = PS\w+\(v_in\);"
)


def composite_in_full(shipped: str) -> str:
    """Every sure-inside and sure-outside region drawn with its mode's full composite, as the edge band
    is: the picture the regions must reproduce, at the cost of reading the mask everywhere."""
    text, count = _SURE_REGION.subn(
        lambda found: found.group(0).rsplit("pixel_shader = ", 1)[0] + f"pixel_shader = PS{found.group(1)}(v_in);",
        shipped,
    )
    if count != 10:
        raise ValueError(f"expected the 5 modes' inside and outside techniques, found {count}: the effect changed")
    return text
