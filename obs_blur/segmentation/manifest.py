"""The models manifest (``models/manifest.json``): what each model is and how to feed it.

Everything model-specific that is data rather than code lives there (file, sha256, input size and
layout, normalisation, licence, source), so adding a model of a known family is a manifest edit.

Standard library only: the OBS filter lists the models (``read_model_choices``) even where numpy and
OpenCV are missing, so that it can load and say what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from obs_blur.errors import ObsBlurError
from obs_blur.model_choice import AUTO, auto_offered
from obs_blur.paths import shipped_models_dir

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ModelSpec:
    """One model entry of the manifest."""

    name: str
    family: str
    file: str
    sha256: Optional[str]
    input_name: str
    input_width: Optional[int]
    input_height: Optional[int]
    scale: float
    offset: float
    output_name: str
    licence: str
    description: str
    source: dict[str, Any] = field(default_factory=dict)
    stride: Optional[int] = None

    @property
    def fixed_input_size(self) -> Optional[tuple[int, int]]:
        """(width, height) the model requires, or None when it accepts any size (BodyPix)."""
        if self.input_width and self.input_height:
            return (self.input_width, self.input_height)
        return None


@dataclass(frozen=True)
class Manifest:
    """All models, in manifest order, plus the default model's name."""

    default: str
    models: tuple[ModelSpec, ...]
    folder: Path

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: Optional[str]) -> ModelSpec:
        """The spec for ``name`` (the default when None), or a clear error listing valid names."""
        wanted = name or self.default
        for spec in self.models:
            if spec.name == wanted:
                return spec
        raise ObsBlurError(f"unknown model {wanted!r}: choose one of {', '.join(self.names)}")


@dataclass(frozen=True)
class ModelChoices:
    """Model names a settings dialog offers, read from the manifest without failing.

    ``problem`` says why the list is empty (no manifest yet, unreadable file), for the status line.
    """

    names: tuple[str, ...]
    default: str
    problem: Optional[str] = None


def manifest_file(folder: Optional[Path] = None) -> Path:
    """The manifest of ``folder``, by default of the shipped models folder (``OBS_BLUR_MODELS`` overrides)."""
    return (folder or shipped_models_dir()) / MANIFEST_NAME


def read_manifest_json(path: Path) -> Any:
    """The manifest file's JSON, as it is: the one place that reads and parses the file."""
    return json.loads(path.read_text(encoding="utf-8"))


def _spec_from_entry(entry: dict[str, Any]) -> ModelSpec:
    inp = entry.get("input", {})
    norm = entry.get("normalisation", {})
    out = entry.get("output", {})
    return ModelSpec(
        name=entry["name"],
        family=entry["family"],
        file=entry["file"],
        sha256=entry.get("sha256"),
        input_name=inp.get("name", "input"),
        input_width=inp.get("width"),
        input_height=inp.get("height"),
        scale=float(norm.get("scale", 1.0 / 255.0)),
        offset=float(norm.get("offset", 0.0)),
        output_name=out.get("name", "mask"),
        licence=entry.get("licence", ""),
        description=entry.get("description", ""),
        source=dict(entry.get("source", {})),
        stride=entry.get("stride"),
    )


def load_manifest(folder: Optional[Path] = None) -> Manifest:
    """Read and validate the manifest; a broken one is reported as one sentence."""
    folder = folder or shipped_models_dir()
    return _load_cached(str(folder))


@lru_cache(maxsize=4)
def _load_cached(folder_str: str) -> Manifest:
    folder = Path(folder_str)
    path = manifest_file(folder)
    try:
        data = read_manifest_json(path)
        models = tuple(_spec_from_entry(e) for e in data["models"])
        default = data.get("default") or models[0].name
    except FileNotFoundError:
        raise ObsBlurError(f"models manifest {path} is missing: is this a complete obs-blur checkout?") from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ObsBlurError(f"models manifest {path} is unreadable ({exc})") from None
    return Manifest(default=default, models=models, folder=folder)


def read_model_choices(path: Optional[Path] = None) -> ModelChoices:
    """Model names from the manifest (``{"default": ..., "models": [{"name": ...}, ...]}``).

    ``auto`` (``obs_blur.model_choice``) comes first and is the default where both models it
    chooses between are listed.

    Read afresh on every call and never raising: a missing or broken manifest gives an empty list and
    the reason, because the filter must still load, pass video through and tell the user what is wrong.
    """
    path = path or manifest_file()
    try:
        manifest = read_manifest_json(path)
    except FileNotFoundError:
        return ModelChoices((), "", f"no model manifest at {path}")
    except (OSError, ValueError) as error:
        return ModelChoices((), "", f"cannot read {path}: {error}")
    entries = manifest.get("models") if isinstance(manifest, dict) else None
    names = tuple(
        entry["name"]
        for entry in entries or ()
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]
    )
    if not names:
        return ModelChoices((), "", f"no models listed in {path}")
    if auto_offered(names):
        return ModelChoices((AUTO, *names), AUTO)
    default = manifest.get("default")
    return ModelChoices(names, default if default in names else names[0])
