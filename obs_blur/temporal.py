"""Temporal smoothing of the person mask: less flicker without a lag ghost.

A plain exponential moving average (obs-backgroundremoval's default 0.85) trades flicker for lag:
when the person moves, the old silhouette fades out over several frames and leaves a ghost. Here the
blend weight adapts per pixel to the size of the change. Small changes, which are the model's
frame-to-frame noise at edges, are averaged strongly; large changes, which are real motion, pass
through almost at once. This is the idea of the one-euro filter, applied per pixel.

Two stages use it: ``MaskSmoother`` on the model's mask, then ``CoefficientSmoother`` on the
refinement's coefficients, whose colour fit would otherwise turn the mask's small wobbles into large
moves of the outline. The second takes its motion from the first's output.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np


def _blend_weight(change: np.ndarray, strength: float, motion_threshold: float) -> np.ndarray:
    """``change`` (the size of each point's change, float32) turned in place into its blend weight.

    ``min_weight + (1 - min_weight) * min(1, change / motion_threshold)``, with ``min_weight`` the
    share a still point moves per frame, ``1 - strength`` (at least 0.05, so the state never freezes).
    """
    min_weight = max(0.05, 1.0 - strength)
    np.multiply(change, (1.0 - min_weight) / motion_threshold, out=change)
    np.minimum(change, 1.0 - min_weight, out=change)
    change += min_weight
    return change


class MaskSmoother:
    """Per-pixel adaptive EMA over successive capture-size masks.

    ``strength`` 0 turns smoothing off; at 0.8 (the default) a small change moves the mask by 20 %
    of the way per frame. A change of ``motion_threshold`` or more is treated as certain motion and
    passed unsmoothed; above 1, even a full flip keeps a little of the frame before (at 1.2 it moves
    87 % of the way). Both defaults were chosen on the DAVIS "lucia" clip with the colour-guided
    refinement (docs/QUALITY.md): alone, flicker 0.52x (square model, crop) to 0.63x the raw mask's,
    and IoU against the current frame still above IoU against the previous one by more than the raw
    mask's margin (no lag), where a plain EMA 0.85 lags.
    """

    def __init__(self, strength: float = 0.8, motion_threshold: float = 1.2) -> None:
        self.strength = float(np.clip(strength, 0.0, 1.0))
        self.motion_threshold = float(motion_threshold)
        self._state: Optional[np.ndarray] = None
        self._weight: Optional[np.ndarray] = None
        self._delta: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Forget history (new source, new model, or resolution change)."""
        self._state = None

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """Blend ``mask`` into the running state and return the smoothed mask (a new array)."""
        state = self._state
        if state is None or state.shape != mask.shape or self.strength <= 0.0:
            self._state = mask.astype(np.float32, copy=True)
            self._weight = np.empty_like(self._state)
            self._delta = np.empty_like(self._state)
            return self._state.copy()
        weight, delta = self._weight, self._delta
        assert weight is not None and delta is not None
        np.subtract(mask, state, out=delta)
        np.abs(delta, out=weight)
        _blend_weight(weight, self.strength, self.motion_threshold)
        np.multiply(delta, weight, out=delta)
        state += delta
        return state.copy()


class CoefficientSmoother:
    """Per-point adaptive EMA over successive refinement coefficients (``refine.band_coefficients``).

    The fit is a ratio (the mask's covariance with the colour over the colour's variance), so where
    the colour varies little a small wobble of the mask swings the coefficients, and the drawn outline
    with them: averaging the coefficients over time steadies it. The weight comes from how much the
    smoothed mask changed at that point of the fit's grid: where it holds, the coefficients move
    ``1 - strength`` of the way per frame; where the person moves they follow in proportion (a full
    change, at once). On ``lucia`` (docs/QUALITY.md, "Temporal smoothing") this
    took flicker from 0.52x to 0.46x the raw mask's with the square model and the crop, and from
    0.63x to 0.52x with the landscape model, IoU and boundary F no lower and no lag.
    """

    def __init__(self, strength: float = 0.8, motion_threshold: float = 1.0) -> None:
        self.strength = float(np.clip(strength, 0.0, 1.0))
        self.motion_threshold = float(motion_threshold)
        self._state: Optional[np.ndarray] = None
        self._mask: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Forget history (new source, new model, or resolution change)."""
        self._state = None

    def __call__(self, coefficients: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Blend ``coefficients`` (h, w, C) into the running state; ``mask`` is the smoothed mask, any grid.

        Returns the smoothed coefficients (a new array).
        """
        height, width = coefficients.shape[:2]
        mask_on_grid = cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA)
        state, previous_mask = self._state, self._mask
        self._mask = mask_on_grid
        if state is None or state.shape != coefficients.shape or self.strength <= 0.0:
            self._state = coefficients.astype(np.float32, copy=True)
            return self._state.copy()
        assert previous_mask is not None
        weight = _blend_weight(np.abs(mask_on_grid - previous_mask), self.strength, self.motion_threshold)
        state += weight[..., None] * (coefficients - state)
        return state.copy()
