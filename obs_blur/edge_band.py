"""The soft edge band: where in the person probability the outline fades, as plain arithmetic.

Shared by the CPU refinement (``refine``) and the OBS filter, which hands the shader two numbers
from here. Standard library only: the filter imports it inside OBS's process, where OpenCV is never
loaded.
"""

from __future__ import annotations

#: Probability band for the background *weights* of the blur (not the visible alpha): a pixel the
#: model gives even a 3-20 % chance of being the person is kept out of the background estimate, so
#: the person's colours cannot bleed into the blur where the mask is a little too tight. Measured
#: with tools/measure_halo.py: the halo with the model's own mask drops from up to 2.1 grey levels
#: (weights from the visible band) to under 0.5.
WEIGHT_BAND = (0.03, 0.2)

#: Refinement coefficients per point of the fit's grid (``refine.RefineSettings.subsample``): ``a``
#: for red, green and blue, then ``b``. At any pixel, ``t = a . rgb + b`` (the frame's colour in
#: 0..1) is the position within the visible band; the worker writes them, the shader reads them as
#: one RGBA texel.
COEFFICIENT_CHANNELS = 4


def visible_band(softness: float) -> tuple[float, float]:
    """The probability band of the visible outline for an edge softness of 0..1 (clamped)."""
    half = 0.02 + 0.45 * min(max(float(softness), 0.0), 1.0)
    return (0.5 - half, 0.5 + half)


def band_transform(from_band: tuple[float, float], to_band: tuple[float, float]) -> tuple[float, float]:
    """(scale, offset) with ``t_to = t_from * scale + offset``."""
    width_to = to_band[1] - to_band[0]
    return (from_band[1] - from_band[0]) / width_to, (from_band[0] - to_band[0]) / width_to
