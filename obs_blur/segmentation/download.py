"""Downloaded models: fetched once from a pinned https source, verified, fixed, cached atomically.

A model on no package registry has only its upstream URL, pinned to a commit in the manifest's
``source`` together with its sha256. ``ensure_downloaded`` checks that sha256 before anything reads
the file, lets the family rewrite the graph for onnxruntime, and caches the result in the user's data
folder with a sidecar that says what it was made from.

A mirror (a folder or a ``file://``/``https://`` URL holding the upstream file names, named by the
family's environment variable) replaces the upstream URL, for tests and offline machines; the sha256
is checked all the same.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

from obs_blur.errors import ObsBlurError
from obs_blur.paths import downloaded_models_dir
from obs_blur.segmentation.manifest import ModelSpec
from obs_blur.segmentation.model_files import sha256_of, verify_sha256

DOWNLOAD_TIMEOUT_S = 60
MAX_DOWNLOAD_BYTES = 64 << 20

#: Rewrites the verified upstream file (first path) into the file onnxruntime runs (second path).
GraphFix = Callable[[Path, Path], None]


class HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another https URL: a pinned https download must never end up on http.

    The sha256 would catch a swapped file anyway; this refuses the downgrade before any byte is read.
    """

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Optional[urllib.request.Request]:
        if urllib.parse.urlparse(newurl).scheme != "https":
            raise ObsBlurError(f"refusing a redirect from {req.full_url} to {newurl}: only https is allowed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(HttpsOnlyRedirects)


def ensure_downloaded(spec: ModelSpec, fix: GraphFix, mirror_env: str, download: bool = True) -> Path:
    """Path of the fixed, verified model file of ``spec``; downloads and fixes it the first time."""
    target = downloaded_models_dir() / spec.file
    if _cached_copy_is_valid(target, spec):
        return target
    if not download:
        raise ObsBlurError(f"{spec.name} is not downloaded yet (it will be on first use, to {target})")
    upstream_sha = spec.source.get("sha256", "")
    if not upstream_sha:
        raise ObsBlurError(f"models manifest has no upstream sha256 for {spec.name}")
    with tempfile.TemporaryDirectory(prefix="obs-blur-") as tmp:
        raw = Path(tmp) / "upstream.onnx"
        _fetch(_source_url(spec, mirror_env), raw)
        verify_sha256(raw, upstream_sha, f"downloaded {spec.name}")
        fixed = Path(tmp) / "fixed.onnx"
        fix(raw, fixed)
        _install_atomically(fixed, target, upstream_sha)
    return target


def _sidecar(target: Path) -> Path:
    return target.with_suffix(".json")


def _cached_copy_is_valid(target: Path, spec: ModelSpec) -> bool:
    """The cache is trusted only if the file still hashes to what we wrote, from the pinned upstream."""
    try:
        meta = json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("upstream_sha256") != spec.source.get("sha256"):
        return False
    return target.is_file() and sha256_of(target) == meta.get("sha256")


def _source_url(spec: ModelSpec, mirror_env: str) -> str:
    url = spec.source.get("url", "")
    mirror = os.environ.get(mirror_env)
    if mirror:
        name = url.rsplit("/", 1)[-1]
        if "://" not in mirror:
            return Path(mirror, name).resolve().as_uri()
        return mirror.rstrip("/") + "/" + name
    return url


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest``: https from the pinned source, or file:// from a mirror only."""
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("https", "file"):
        raise ObsBlurError(f"refusing to download from {url!r}: only https (or a local file mirror) is allowed")
    try:
        with _OPENER.open(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except OSError as exc:
        raise ObsBlurError(f"could not download {url}: {exc}") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ObsBlurError(f"download from {url} is larger than expected: refusing it")
    dest.write_bytes(data)


def _install_atomically(fixed: Path, target: Path, upstream_sha: str) -> None:
    """Write file then sidecar via renames, so a crash never leaves a half-written trusted model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_model = target.with_suffix(".onnx.partial")
    tmp_model.write_bytes(fixed.read_bytes())
    os.replace(tmp_model, target)
    meta = {"upstream_sha256": upstream_sha, "sha256": sha256_of(target)}
    tmp_meta = _sidecar(target).with_suffix(".json.partial")
    tmp_meta.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp_meta, _sidecar(target))
