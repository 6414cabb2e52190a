"""The model families by the name the manifest gives them, and the entry points that go through them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.base import Segmenter
from obs_blur.segmentation.bodypix import BodyPixSegmenter
from obs_blur.segmentation.manifest import ModelSpec, load_manifest
from obs_blur.segmentation.mediapipe import MediaPipeSegmenter

#: The manifest's ``family`` value -> the class that feeds models of that family.
FAMILIES: dict[str, type[Segmenter]] = {"mediapipe": MediaPipeSegmenter, "bodypix": BodyPixSegmenter}


def family_of(spec: ModelSpec) -> type[Segmenter]:
    """The class of ``spec``'s family, or a clear error for a family this version does not know."""
    family = FAMILIES.get(spec.family)
    if family is None:
        raise ObsBlurError(f"model {spec.name} has unknown family {spec.family!r}")
    return family


def load_segmenter(name: Optional[str] = None, device: str = "auto", threads: Optional[int] = None) -> Segmenter:
    """Load a model by manifest name (default model when None), verified, on the chosen device."""
    spec = load_manifest().get(name)
    return family_of(spec).load(spec, device=device, threads=threads)


def model_path(spec: ModelSpec, download: bool = True) -> Path:
    """A verified local file of ``spec``'s model, obtained as its family does (downloaded on first use or not)."""
    return family_of(spec).model_file(spec, download=download)
