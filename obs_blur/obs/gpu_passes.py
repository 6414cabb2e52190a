"""What one Background Blur filter keeps on the GPU, and the passes of its frame.

Everything here runs on the graphics thread inside video_render (the graphics context is entered),
except ``destroy`` methods, which the filter calls inside ``obs_enter_graphics``.

Colour handling: every pass works on the stored (sRGB-encoded) values, as the CPU reference does
(``obs_blur/compositor.py`` computes luma and blends on 8-bit encoded pixels). So textures are bound
with ``gs_effect_set_texture`` (no sRGB decode) and framebuffer sRGB encoding is off while we draw
our own targets. The frame holds what OBS hands its own filters: premultiplied alpha (a straight
source is premultiplied as it is drawn in). The last draw into OBS's target (composite or unchanged)
is done as OBS draws a filter's output (``obs_output``): linear values, premultiplied blending. An
8-bit frame therefore passes through bit-exactly, semi-transparent pixels included, which is what
the pass-through path relies on. For an opaque video (the frame engine checks the alpha of each
capture it reads back) the composites skip the premultiplying and the linear conversion, which
change nothing where alpha is 1 and cost llvmpipe time on every pixel.

Cost on a software renderer (llvmpipe, where every texture read is CPU work): per frame exactly one
full-resolution render of the target and one full-resolution draw (composite or unchanged);
everything else runs at capture size (the mask's grid, about 256x144, or twice it while the worker
looks at a crop around the person) or at 1/4 resolution.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import numpy as np

from obs_blur.blur_plan import (
    LENS_BLOOM,
    LENS_DEPTH_NEAR,
    LENS_DEPTH_REACH,
    LENS_HIGHLIGHT_FROM,
    blur_taps,
    lens_radius,
)
from obs_blur.edge_band import COEFFICIENT_CHANNELS
from obs_blur.obs import libobs

EFFECT_PATH = Path(__file__).resolve().parent.parent / "effects" / "background_blur.effect"
#: Names a variant of the effect file to load instead (``tools/profile_passes.py`` measures what each
#: pass costs by loading variants with parts of it taken out). Unset for users.
EFFECT_VARIABLE = "OBS_BLUR_EFFECT"


def effect_path() -> Path:
    """The effect file a new filter instance compiles: ``EFFECT_PATH`` unless ``OBS_BLUR_EFFECT`` names another."""
    return Path(os.environ.get(EFFECT_VARIABLE) or EFFECT_PATH)


_EFFECT_PARAMS = (
    "image",
    "coeffs",
    "person_mask",
    "blurred",
    "bg_image",
    "texel",
    "step_uv",
    "direction",
    "blur_centre",
    "blur_offsets",
    "blur_weights",
    "lens_radius",
    "lens_highlight",
    "lens_depth",
    "bg_color",
    "bg_uv_scale",
    "bg_uv_offset",
    "enabled_alpha",
    "weight_band",
)
_ORTHO_NEAR, _ORTHO_FAR = -100.0, 100.0


class GpuError(RuntimeError):
    """A GPU object could not be created or used; the message is meant for the status line."""


@contextlib.contextmanager
def stored_values() -> Iterator[None]:
    """Draw without framebuffer sRGB encoding: shaders read and write the stored values unchanged."""
    previous = libobs.gs_framebuffer_srgb_enabled()
    libobs.gs_enable_framebuffer_srgb(False)
    try:
        yield
    finally:
        libobs.gs_enable_framebuffer_srgb(previous)


@contextlib.contextmanager
def obs_output(linear: bool = True) -> Iterator[None]:
    """Hand OBS what its own filters draw: linear values (framebuffer sRGB encoding on) and premultiplied
    blending (ONE, INVSRCALPHA). Semi-transparent pixels then blend as they do without the filter.

    ``linear`` False keeps stored values (encoding off): the same result where alpha is 0 or 1, cheaper.
    """
    previous = libobs.gs_framebuffer_srgb_enabled()
    libobs.gs_enable_framebuffer_srgb(linear)
    libobs.gs_blend_state_push()
    libobs.gs_blend_function(libobs.GS_BLEND_ONE, libobs.GS_BLEND_INVSRCALPHA)
    try:
        yield
    finally:
        libobs.gs_blend_state_pop()
        libobs.gs_enable_framebuffer_srgb(previous)


@contextlib.contextmanager
def overwriting() -> Iterator[None]:
    """Intermediate passes replace the target's pixels (blend ONE/ZERO), like obs_source_process_filter_begin."""
    libobs.gs_blend_state_push()
    libobs.gs_blend_function(libobs.GS_BLEND_ONE, libobs.GS_BLEND_ZERO)
    try:
        with stored_values():
            yield
    finally:
        libobs.gs_blend_state_pop()


class RenderTarget:
    """A ``gs_texrender``: a texture we draw into, plus the frame number of what it holds."""

    def __init__(self, color_format: int) -> None:
        self.pointer: int = libobs.gs_texrender_create(color_format, libobs.GS_ZS_NONE)
        if not self.pointer:
            raise GpuError(f"cannot create a render target (format {color_format})")
        self.size = (0, 0)
        self.frame_number = -1

    @contextlib.contextmanager
    def drawing(self, width: int, height: int, clear: bool = False) -> Iterator[None]:
        """Make this the render target with a ``width`` x ``height`` orthographic view; restores the caller's."""
        libobs.gs_texrender_reset(self.pointer)
        if not libobs.gs_texrender_begin(self.pointer, width, height):
            raise GpuError(f"cannot draw into a {width}x{height} render target")
        try:
            if clear:
                libobs.gs_clear(libobs.GS_CLEAR_COLOR, _TRANSPARENT.pointer, 0.0, 0)
            libobs.gs_ortho(0.0, float(width), 0.0, float(height), _ORTHO_NEAR, _ORTHO_FAR)
            yield
        finally:
            libobs.gs_texrender_end(self.pointer)
        self.size = (width, height)

    @property
    def texture(self) -> Optional[int]:
        return libobs.gs_texrender_get_texture(self.pointer) or None

    def destroy(self) -> None:
        if self.pointer:
            libobs.gs_texrender_destroy(self.pointer)
            self.pointer = 0


_TRANSPARENT = libobs.Vec4(0.0, 0.0, 0.0, 0.0)


class GridTexture:
    """A float32 array on a grid of the mask (its own, or the refinement fit's) as a texture, replaced with each mask.

    Two per filter: the refinement's coefficients (``a`` for red, green, blue and ``b``: RGBA32F) and
    the smoothed person probability the blur's weights come from (R32F).
    """

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.format = {1: libobs.GS_R32F, COEFFICIENT_CHANNELS: libobs.GS_RGBA32F}[channels]
        self.pointer = 0
        self.size = (0, 0)

    def upload(self, grid: np.ndarray) -> None:
        """Copy a (h, w) or (h, w, channels) float32 array in; the texture is recreated when the grid changes."""
        height, width = grid.shape[:2]
        data = np.ascontiguousarray(grid, dtype=np.float32)
        if (width, height) != self.size:
            self.destroy()
            self.pointer = libobs.gs_texture_create(width, height, self.format, 1, None, libobs.GS_DYNAMIC)
            if not self.pointer:
                raise GpuError(f"cannot create a {width}x{height} float texture for the mask")
            self.size = (width, height)
        libobs.gs_texture_set_image(self.pointer, data.ctypes.data, width * 4 * self.channels, False)

    def destroy(self) -> None:
        if self.pointer:
            libobs.gs_texture_destroy(self.pointer)
        self.pointer, self.size = 0, (0, 0)


class BackgroundPicture:
    """The picture behind the person in ``image`` mode, loaded by libobs's own image loader."""

    def __init__(self) -> None:
        self.pointer = 0
        self.size = (0, 0)
        self.path: Optional[str] = None  # None: nothing tried yet (an empty path is a problem too)
        self.problem: Optional[str] = None

    def load(self, path: str) -> Optional[str]:
        """Load ``path`` if it changed; returns why the picture is unusable, or None."""
        if path == self.path:
            return self.problem
        self.destroy()
        self.path = path
        if not path:
            self.problem = "choose a background image"
        elif not Path(path).is_file():
            self.problem = f"background image {path} does not exist"
        else:
            self.pointer = libobs.gs_texture_create_from_file(path.encode("utf-8"))
            if self.pointer:
                self.size = (libobs.gs_texture_get_width(self.pointer), libobs.gs_texture_get_height(self.pointer))
            self.problem = None if self.pointer else f"cannot read background image {path}"
        return self.problem

    def cover(self, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """(uv scale, uv offset) that fill ``width`` x ``height`` with the picture, centred, cropping the rest."""
        picture_width, picture_height = self.size
        scale = max(width / picture_width, height / picture_height)
        visible = (width / (picture_width * scale), height / (picture_height * scale))
        return visible, ((1.0 - visible[0]) / 2, (1.0 - visible[1]) / 2)

    def destroy(self) -> None:
        if self.pointer:
            libobs.gs_texture_destroy(self.pointer)
        self.pointer, self.size, self.path, self.problem = 0, (0, 0), None, None


class BlurEffect:
    """``background_blur.effect`` and its parameters."""

    def __init__(self, path: Optional[Path] = None) -> None:
        path = path or effect_path()
        error = ctypes.c_void_p()
        self.pointer: int = libobs.gs_effect_create_from_file(str(path).encode("utf-8"), ctypes.byref(error))
        if not self.pointer:
            detail = ctypes.string_at(error.value).decode("utf-8", "replace").strip() if error.value else ""
            if error.value:
                libobs.bfree(error.value)
            raise GpuError(f"OBS could not compile {path.name}: {detail or 'see the OBS log'}")
        self.params = {name: libobs.gs_effect_get_param_by_name(self.pointer, name.encode()) for name in _EFFECT_PARAMS}
        self._vec2 = libobs.Vec2()
        self._vec4 = libobs.Vec4()

    def set_texture(self, name: str, texture: Optional[int]) -> None:
        libobs.gs_effect_set_texture(self.params[name], texture)

    def set_float(self, name: str, value: float) -> None:
        libobs.gs_effect_set_float(self.params[name], value)

    def set_vec2(self, name: str, x: float, y: float) -> None:
        self._vec2.set(x, y)
        libobs.gs_effect_set_vec2(self.params[name], self._vec2.pointer)

    def set_vec4(self, name: str, x: float, y: float, z: float, w: float) -> None:
        self._vec4.set(x, y, z, w)
        libobs.gs_effect_set_vec4(self.params[name], self._vec4.pointer)

    def draw(self, technique: bytes, width: int, height: int) -> None:
        """One quad of ``width`` x ``height`` at the origin through ``technique``."""
        while libobs.gs_effect_loop(self.pointer, technique):
            libobs.gs_draw_sprite(None, 0, width, height)

    def destroy(self) -> None:
        if self.pointer:
            libobs.gs_effect_destroy(self.pointer)
            self.pointer = 0


def render_filter_target(filter_source: int, target: RenderTarget, size: tuple[int, int], transparent: bool) -> None:
    """Draw what the filter receives (its source, or the filter before it) into ``target``.

    A synchronous source draws only inside an active effect: ``obs_source_video_render`` alone
    leaves the texture empty (measured in OBS 29), so it is wrapped in the default effect's Draw technique as
    libobs's own obs_source_default_render does. Async sources and other filters draw themselves.

    ``transparent`` (the last frame had alpha below 1): premultiply a straight-alpha source on the
    way in, as obs_source_process_filter_begin does, so the frame holds what OBS hands filters. An
    opaque frame is the same either way, and blending costs llvmpipe a read of every pixel.
    """
    source = libobs.obs_filter_get_target(filter_source)
    parent = libobs.obs_filter_get_parent(filter_source)
    flags = libobs.obs_source_get_output_flags(source)
    draws_itself = bool(flags & (libobs.OBS_SOURCE_ASYNC | libobs.OBS_SOURCE_CUSTOM_DRAW)) or source != parent
    width, height = size
    with overwriting(), target.drawing(width, height, clear=True):
        if transparent:  # premultiplied sources (image sources) set their own blending and stay as they are
            libobs.gs_blend_function_separate(
                libobs.GS_BLEND_SRCALPHA, libobs.GS_BLEND_INVSRCALPHA, libobs.GS_BLEND_ONE, libobs.GS_BLEND_INVSRCALPHA
            )
        if draws_itself:
            libobs.obs_source_video_render(source)
        else:
            default_effect = libobs.obs_get_base_effect(libobs.OBS_EFFECT_DEFAULT)
            while libobs.gs_effect_loop(default_effect, b"Draw"):
                libobs.obs_source_video_render(source)


def draw_unchanged(texture: int, size: tuple[int, int]) -> None:
    """Draw ``texture`` as it is into the caller's target (the pass-through), as OBS draws a filter's
    input: decoded from sRGB, encoded again on the way out (8-bit values survive exactly), premultiplied."""
    default_effect = libobs.obs_get_base_effect(libobs.OBS_EFFECT_DEFAULT)
    image = libobs.gs_effect_get_param_by_name(default_effect, b"image")
    with obs_output():
        libobs.gs_effect_set_texture_srgb(image, texture)
        while libobs.gs_effect_loop(default_effect, b"Draw"):
            libobs.gs_draw_sprite(texture, 0, size[0], size[1])


def downsample(
    effect: BlurEffect,
    technique: bytes,
    source: int,
    source_size: tuple[int, int],
    into: RenderTarget,
    size: tuple[int, int],
) -> int:
    """The frame at capture size for the mask worker, resized by ``technique`` (the model's own resize)."""
    width, height = size
    with overwriting(), into.drawing(width, height):
        effect.set_texture("image", source)
        effect.set_vec2("texel", 1.0 / source_size[0], 1.0 / source_size[1])
        effect.set_vec2("step_uv", 1.0 / width, 1.0 / height)
        effect.draw(technique, width, height)
    texture = into.texture
    if texture is None:
        raise GpuError("the capture render target has no texture")
    return texture


def blurred_background(
    effect: BlurEffect,
    source: int,
    mask: tuple[int, int],
    work: tuple[RenderTarget, RenderTarget, RenderTarget],
    work_size: tuple[int, int],
    sigma: float,
    weight_band: tuple[float, float],
    lens: bool = False,
    lens_depth: bool = False,
) -> int:
    """Background-only blur at work size: premultiplied downscale, a horizontal and a vertical Gaussian.

    Person pixels carry weight 0, so they cannot bleed into the background (the CPU reference's
    no-halo rule). ``mask``: the coefficient and the person probability textures. A pixel's weight
    is 0 where it is visibly the person or where the model's own probability reaches the wider
    ``edge_band.WEIGHT_BAND`` (``weight_band``: that band's (scale, offset) for a probability). The
    first two passes keep the weighted sums in half floats; the vertical pass divides the weights out at work size and
    writes 8-bit straight colour, alpha 1 where background was seen and 0 where none was, so the
    full-resolution composite reads 8 bits per channel (``work``: the two half-float targets and
    that 8-bit one, whose texture is returned). ``lens``: one disc-shaped pass with blooming
    highlights instead of the two Gaussian ones, written the same way; ``lens_depth``: its disc
    smaller next to the person.
    """
    width, height = work_size
    premultiplied, horizontal, background = work
    with overwriting():
        with premultiplied.drawing(width, height):
            effect.set_texture("image", source)
            effect.set_texture("coeffs", mask[0])
            effect.set_texture("person_mask", mask[1])
            effect.set_float("enabled_alpha", 1.0)
            effect.set_vec2("weight_band", *weight_band)
            effect.set_vec2("step_uv", 1.0 / width, 1.0 / height)
            effect.draw(b"PremultiplyDown", width, height)
        if lens:
            _lens_blur(effect, premultiplied, background, work_size, (sigma, lens_depth))
        else:
            _gaussian_blur(effect, premultiplied, horizontal, background, work_size, sigma)
    texture = background.texture
    if texture is None:
        raise GpuError("the blur render target has no texture")
    return texture


def _gaussian_blur(
    effect: BlurEffect,
    premultiplied: RenderTarget,
    horizontal: RenderTarget,
    background: RenderTarget,
    work_size: tuple[int, int],
    sigma: float,
) -> None:
    """Horizontal, then vertical Gaussian (``blur_plan.blur_taps``); the vertical pass divides the weights out."""
    width, height = work_size
    taps = blur_taps(sigma)
    passes = ((1.0, 0.0), premultiplied, horizontal, b"Blur"), ((0.0, 1.0), horizontal, background, b"BlurStraight")
    for direction, source_target, destination, technique in passes:
        with destination.drawing(width, height):  # parameters set outside a pass reach it unset
            effect.set_texture("image", source_target.texture)
            effect.set_vec2("texel", 1.0 / width, 1.0 / height)
            effect.set_vec2("direction", *direction)
            effect.set_float("blur_centre", taps.centre)
            effect.set_vec4("blur_offsets", *taps.offsets)
            effect.set_vec4("blur_weights", *taps.weights)
            effect.draw(technique, width, height)


def _lens_blur(
    effect: BlurEffect,
    premultiplied: RenderTarget,
    background: RenderTarget,
    work_size: tuple[int, int],
    plan: tuple[float, bool],
) -> None:
    """The disc-shaped blur with blooming highlights (``blur_plan``'s lens constants), one pass.

    ``plan``: the Gaussian's sigma at this strength, and whether the disc shrinks next to the person.
    """
    width, height = work_size
    sigma, depth = plan
    with background.drawing(width, height):
        effect.set_texture("image", premultiplied.texture)
        effect.set_vec2("texel", 1.0 / width, 1.0 / height)
        effect.set_float("lens_radius", lens_radius(sigma))
        effect.set_vec4("lens_highlight", LENS_HIGHLIGHT_FROM, 1.0 / (1.0 - LENS_HIGHLIGHT_FROM), LENS_BLOOM, 0.0)
        effect.set_vec2("lens_depth", LENS_DEPTH_NEAR if depth else 1.0, LENS_DEPTH_REACH)
        effect.draw(b"LensBlur", width, height)


def composite(
    effect: BlurEffect, technique: bytes, source: int, coefficients: int, size: tuple[int, int], transparent: bool
) -> None:
    """The final full-resolution pass into the caller's target (see ``obs_output``) through the mode's
    ``technique``, or its "Linear" twin when ``transparent``: the frame has alpha below 1, where
    half-transparent pixels only blend right in linear light.

    Mode-specific inputs (blurred background, colour, picture) are set on ``effect`` beforehand.
    """
    with obs_output(linear=transparent):
        effect.set_texture("image", source)
        effect.set_texture("coeffs", coefficients)
        effect.set_float("enabled_alpha", 1.0)
        effect.draw(technique + b"Linear" if transparent else technique, size[0], size[1])
