"""The ``auto`` model: which MediaPipe model fits the frame's shape and the person's size, and why.

Both shipped models see 256 pixels across; ``mediapipe-landscape`` sees 144 rows and
``mediapipe-general`` 256, at about 1.7x the cost. Measured on the dev set (docs/QUALITY.md,
"Automatic model choice"):

- a frame that is not wide (4:3, square, portrait) is squeezed into the landscape model's 16:9
  input; the square model is better there (IoU +0.03 to +0.06 on portrait and square cuts);
- on a 16:9 frame, the square model is better while the person fills a small part of it (5-16 %
  of the frame: IoU +0.05), and the landscape model when the person fills more (a webcam close-up),
  at lower cost.

So ``auto`` picks by the frame's shape at once, and on a wide frame moves between the two by the
person's share of the frame, once that share has held for a while (``ModelChooser``), so that a
person walking past does not reload the model back and forth. Standard library only: the OBS
filter reads the ``AUTO`` name without numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

AUTO = "auto"
AUTO_LABEL = "Automatic (fits the frame and the person)"
AUTO_HELP = "mediapipe-general for a frame that is not 16:9 or a person small in it, else mediapipe-landscape"
WIDE_MODEL = "mediapipe-landscape"
SQUARE_MODEL = "mediapipe-general"

#: Width / height from which a frame is wide (16:9 is 1.78, 4:3 is 1.33).
WIDE_FROM_ASPECT = 1.5
#: On a wide frame, a person filling less than this share of it gets the square model ...
SMALL_PERSON_BELOW = 0.16
#: ... and one filling at least this share the landscape model; between the two nothing changes.
LARGE_PERSON_FROM = 0.24
#: Below this share no person is in view: nothing to choose for, the model in use stays.
NO_PERSON_BELOW = 0.01
#: How long the person's share must favour the other model before it is loaded.
FIRST_SWITCH_AFTER_S = 3.0
#: Each further switch waits twice as long as the one before, up to this: a picture whose share sits
#: where the two models disagree cannot reload models more often than this.
LONGEST_SWITCH_WAIT_S = 60.0
#: A mask pixel above this probability counts as the person's.
PERSON_PROBABILITY = 0.5


@dataclass(frozen=True)
class ModelChoice:
    """A model and the reason it was chosen, for the status line."""

    model: str
    reason: str


def model_label(name: str) -> str:
    """How a settings dialog lists a model: by its manifest name, and ``auto`` by what it does."""
    return AUTO_LABEL if name == AUTO else name


def auto_offered(model_names: Iterable[str]) -> bool:
    """``auto`` is offered where both models it chooses between are installed."""
    names = set(model_names)
    return WIDE_MODEL in names and SQUARE_MODEL in names


def is_wide(width: int, height: int) -> bool:
    return height > 0 and width / height >= WIDE_FROM_ASPECT


def choice_for_frame(width: int, height: int) -> ModelChoice:
    """The choice before anything is known of the person: by the frame's shape alone."""
    if is_wide(width, height):
        return ModelChoice(WIDE_MODEL, f"auto: wide {width}x{height} frame")
    return ModelChoice(SQUARE_MODEL, f"auto: {width}x{height} frame is not wide")


def choice_for_person(share: float, current: ModelChoice) -> ModelChoice:
    """On a wide frame, the model the person's share of the frame favours (``current`` when neither)."""
    percent = f"{100 * share:.0f} %"
    if NO_PERSON_BELOW <= share < SMALL_PERSON_BELOW:
        return ModelChoice(SQUARE_MODEL, f"auto: small person, {percent} of the frame")
    if share >= LARGE_PERSON_FROM:
        return ModelChoice(WIDE_MODEL, f"auto: person fills {percent} of the frame")
    return current


def person_share(mask: Any) -> float:
    """The share of a probability mask (a numpy array at any size) that is the person's."""
    return float((mask > PERSON_PROBABILITY).mean()) if mask.size else 0.0


def choice_for_picture(width: int, height: int, share: Optional[float]) -> ModelChoice:
    """Where ``ModelChooser`` settles on a still picture whose share under the frame's model is ``share``.

    The command line's choice for a photo: it equals the filter's once the filter has looked at the
    same picture for a few seconds.
    """
    start = choice_for_frame(width, height)
    if share is None or not is_wide(width, height):
        return start
    return choice_for_person(share, start)


class ModelChooser:
    """The ``auto`` choice over time, for one video: frame shape at once, person size after a hold."""

    def __init__(self) -> None:
        self._frame: tuple[int, int] = (0, 0)
        self.choice: Optional[ModelChoice] = None
        self._favoured: Optional[ModelChoice] = None
        self._favoured_since = 0.0
        self._wait_s = FIRST_SWITCH_AFTER_S

    def for_frame(self, width: int, height: int) -> ModelChoice:
        """The choice for a frame of this size; a new size starts over from its shape."""
        if self.choice is not None and not (width and height):
            return self.choice  # no video for a moment: keep the model rather than reload it
        if self.choice is None or (width, height) != self._frame:
            self._frame = (width, height)
            self.choice = choice_for_frame(width, height)
            self._favoured = None
        return self.choice

    def observe(self, share: float, model: str, now_s: float) -> Optional[ModelChoice]:
        """A mask of the chosen model covered ``share`` of the frame; returns the new choice on a switch.

        A mask of another model (computed before the last switch took effect) says nothing about
        the one chosen, and is ignored.
        """
        current = self.choice
        if current is None or model != current.model or not is_wide(*self._frame):
            return None
        wanted = choice_for_person(share, current)
        if wanted.model == current.model:
            self.choice, self._favoured = wanted, None  # the reason follows the person's share
            return None
        if self._favoured is None or self._favoured.model != wanted.model:
            self._favoured_since = now_s
        self._favoured = wanted
        if now_s - self._favoured_since < self._wait_s:
            return None
        self.choice, self._favoured = wanted, None
        self._wait_s = min(2 * self._wait_s, LONGEST_SWITCH_WAIT_S)
        return wanted
