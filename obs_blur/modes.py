"""What the filter can do with the background: the one list of modes that every part reads.

The command line (``--mode``), the filter's settings (valid values, default), its dialog (labels,
which settings it shows) and both compositors (the CPU reference in ``compositor`` and the GPU passes
in the OBS layer) take their modes from ``MODES``.

Standard library only: the OBS filter reads it where numpy and OpenCV are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Setting(Enum):
    """A setting that only some modes draw with; the dialog hides it for the others."""

    BLUR_STRENGTH = "blur strength"
    COLOUR = "colour"
    PICTURE = "picture"
    LENS_DEPTH = "lens depth"  # the lens disc smaller next to the person


class Composite(Enum):
    """How a mode's output is made from the frame and the person alpha, on the CPU and on the GPU."""

    OVER_BLURRED_BACKGROUND = "over blurred background"  # the frame's own background, blurred without the person
    OVER_LENS_BLURRED_BACKGROUND = "over lens-blurred background"  # the same with a disc blur and blooming lights
    OVER_COLOUR = "over colour"
    OVER_PICTURE = "over picture"  # a picture scaled to cover the frame
    ALPHA_CHANNEL = "alpha channel"  # the frame, its alpha the person coverage
    ALPHA_AS_GREY = "alpha as grey"  # the person alpha itself, for checking

    @property
    def settings(self) -> tuple[Setting, ...]:
        """The mode-specific settings this composite draws with."""
        return _SETTINGS_OF.get(self, ())


_SETTINGS_OF = {
    Composite.OVER_BLURRED_BACKGROUND: (Setting.BLUR_STRENGTH,),
    Composite.OVER_LENS_BLURRED_BACKGROUND: (Setting.BLUR_STRENGTH, Setting.LENS_DEPTH),
    Composite.OVER_COLOUR: (Setting.COLOUR,),
    Composite.OVER_PICTURE: (Setting.PICTURE,),
}


@dataclass(frozen=True)
class Mode:
    """One choice of what to do with the background."""

    name: str  # the setting value and the command line's --mode
    label: str  # in the filter's dialog
    composite: Composite
    #: Technique of effects/background_blur.effect that draws it; its "Linear" twin serves transparent frames.
    technique: str

    @property
    def settings(self) -> tuple[Setting, ...]:
        return self.composite.settings


#: In the order the dialog lists them.
MODES: tuple[Mode, ...] = (
    Mode("blur", "Blur the background", Composite.OVER_BLURRED_BACKGROUND, "CompositeBlur"),
    Mode("lens", "Blur the background like a lens (bokeh)", Composite.OVER_LENS_BLURRED_BACKGROUND, "CompositeBlur"),
    Mode("color", "Replace the background with a colour", Composite.OVER_COLOUR, "CompositeColor"),
    Mode("image", "Replace the background with a picture", Composite.OVER_PICTURE, "CompositeImage"),
    Mode("transparent", "Make the background transparent", Composite.ALPHA_CHANNEL, "CompositeTransparent"),
    Mode("mask", "Show the person mask (diagnostics)", Composite.ALPHA_AS_GREY, "CompositeMask"),
)
MODE_NAMES: tuple[str, ...] = tuple(mode.name for mode in MODES)
DEFAULT_MODE = "blur"

_BY_NAME = {mode.name: mode for mode in MODES}


def mode_named(name: str) -> Mode:
    """The mode called ``name``; a KeyError for any other (callers validate names first)."""
    return _BY_NAME[name]
