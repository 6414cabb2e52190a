"""`python -m obs_blur doctor`: what is installed, what will run, and why.

The peers' most common support threads are "GPU mode silently fell back" and "model never loads";
this prints the facts that answer both in one screen, and exits non-zero when the default model
cannot run.
"""

from __future__ import annotations

import importlib
import platform
import sys
from typing import Callable

from obs_blur.errors import ObsBlurError
from obs_blur.model_choice import AUTO, SQUARE_MODEL, WIDE_MODEL, auto_offered
from obs_blur.paths import downloaded_models_dir, tensorrt_cache_dir
from obs_blur.segmentation.families import model_path
from obs_blur.segmentation.manifest import ModelSpec, load_manifest
from obs_blur.segmentation.providers import create_session, import_onnxruntime


def _version(module_name: str, attribute: str = "__version__") -> str:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return f"MISSING ({exc})"
    return str(getattr(module, attribute, "?"))


def _lines_environment() -> list[str]:
    return [
        f"python       {platform.python_version()} ({sys.executable})",
        f"numpy        {_version('numpy')}",
        f"opencv       {_version('cv2')}",
        f"onnxruntime  {_version('onnxruntime')}",
    ]


def _lines_providers() -> tuple[list[str], bool]:
    """Available providers and the one a default-model session really gets."""
    try:
        ort = import_onnxruntime()
    except ObsBlurError as exc:
        return [f"providers    unavailable: {exc}"], False
    lines = [f"available    {', '.join(ort.get_available_providers())}"]
    try:
        manifest = load_manifest()
        session = create_session(model_path(manifest.get(None)), device="auto")
    except ObsBlurError as exc:
        return [*lines, f"chosen       none: {exc}"], False
    return [*lines, f"chosen       {session.describe()} for {manifest.default}"], True


def model_status(spec: ModelSpec) -> str:
    """One line: present and verified, downloadable, or broken (never downloads)."""
    try:
        path = model_path(spec, download=False)
    except ObsBlurError as exc:
        return f"not ready: {exc}"
    return f"ok ({path})"


def _lines_models() -> list[str]:
    try:
        manifest = load_manifest()
    except ObsBlurError as exc:
        return [f"models       {exc}"]
    default = f"{AUTO}: {WIDE_MODEL} or {SQUARE_MODEL}" if auto_offered(manifest.names) else manifest.default
    lines = [f"models       {manifest.folder} (default {default})"]
    lines += [f"  {spec.name:<22}{model_status(spec)}" for spec in manifest.models]
    lines += [f"downloads    {downloaded_models_dir()}", f"tensorrt     {tensorrt_cache_dir()}"]
    return lines


def run_doctor(write: Callable[[str], None] = print) -> int:
    """Print the report; 0 when the default model runs, 1 otherwise."""
    provider_lines, default_runs = _lines_providers()
    for line in [*_lines_environment(), *provider_lines, *_lines_models()]:
        write(line)
    write("status       ready" if default_runs else "status       NOT READY: see the lines above")
    return 0 if default_runs else 1
