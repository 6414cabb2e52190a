"""Model files: the shipped ones' place, and proof that a file is the one expected before anything reads it.

A model file is never parsed before its sha256 matched: a truncated download, a corrupted disk or a
tampered file is refused with a sentence that says which file and what to do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.manifest import ModelSpec, load_manifest


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large files do not need to fit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, what: str) -> None:
    """Raise a clear error unless ``path`` exists and hashes to ``expected``."""
    if not path.is_file():
        raise ObsBlurError(f"{what} {path} is missing")
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ObsBlurError(
            f"{what} {path} is corrupt or altered (sha256 {actual[:12]}…, expected {expected[:12]}…): "
            "refusing to load it; restore it with `git checkout -- models` or delete it to re-download"
        )


def shipped_model_path(spec: ModelSpec) -> Path:
    """The verified path of a model shipped in the models folder, beside the manifest."""
    path = load_manifest().folder / spec.file
    if not spec.sha256:
        raise ObsBlurError(f"models manifest has no sha256 for {spec.name}: refusing to load an unverified file")
    if not path.is_file():
        raise ObsBlurError(
            f"model file {path} is missing: restore it with `git checkout -- models` "
            "or rebuild it with `python tools/convert_models.py`"
        )
    verify_sha256(path, spec.sha256, "model file")
    return path
