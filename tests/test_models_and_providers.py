"""Model files are verified before use; BodyPix downloads safely; providers fall back visibly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.base import ModelSource
from obs_blur.segmentation.families import family_of, load_segmenter, model_path
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.segmentation.model_files import sha256_of
from obs_blur.segmentation.providers import choose_providers, create_session, import_onnxruntime

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def models_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of models/ that a test may damage."""
    folder = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", folder)
    monkeypatch.setenv("OBS_BLUR_MODELS", str(folder))
    return folder


def test_manifest_lists_shipped_and_downloadable_models() -> None:
    manifest = load_manifest()
    assert manifest.default == "mediapipe-landscape"
    assert {"mediapipe-landscape", "mediapipe-general", "bodypix-s16", "bodypix-s8"} <= set(manifest.names)
    for spec in manifest.models:
        if family_of(spec).model_source is ModelSource.SHIPPED:
            assert model_path(spec).is_file()
        else:
            assert spec.source["url"].startswith("https://")


def test_unknown_model_name() -> None:
    with pytest.raises(ObsBlurError, match=r"unknown model 'nope'.*mediapipe-landscape"):
        load_manifest().get("nope")


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_model_is_refused(models_copy: Path, damage: str) -> None:
    spec = load_manifest(models_copy).get(None)
    path = models_copy / spec.file
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[:1000]))
    else:
        path.unlink()
    with pytest.raises(ObsBlurError, match=r"corrupt or altered|missing"):
        load_segmenter(spec.name)


def test_input_shape_must_match_manifest(models_copy: Path) -> None:
    manifest_path = models_copy / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["models"][0]["input"]["width"] = 320
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(ObsBlurError, match="takes input"):
        load_segmenter(data["models"][0]["name"])


def test_bodypix_download_is_verified_fixed_and_cached(bodypix_mirror: Path) -> None:
    spec = load_manifest().get("bodypix-s8")
    path = model_path(spec)
    assert path.is_file() and sha256_of(path) != spec.source["sha256"], "the fixed file differs from upstream"
    session = create_session(path, device="cpu")  # the upstream s8 file does not load in ORT
    assert session.provider == "CPUExecutionProvider"
    mtime = path.stat().st_mtime_ns
    assert model_path(spec) == path and path.stat().st_mtime_ns == mtime, "second use hits the cache"


def test_bodypix_tampered_download_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    spec = load_manifest().get("bodypix-s16")
    name = spec.source["url"].rsplit("/", 1)[-1]
    (mirror / name).write_bytes(b"not an onnx model")
    monkeypatch.setenv("OBS_BLUR_BODYPIX_MIRROR", str(mirror))
    monkeypatch.setenv("OBS_BLUR_DATA", str(tmp_path / "data"))
    with pytest.raises(ObsBlurError, match="corrupt or altered"):
        model_path(spec)
    assert not any((tmp_path / "data").rglob("*.onnx")), "nothing unverified is cached"


def test_bodypix_altered_cache_is_replaced(
    bodypix_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_BLUR_DATA", str(tmp_path / "data"))
    spec = load_manifest().get("bodypix-s16")
    path = model_path(spec)
    good = sha256_of(path)
    path.write_bytes(b"tampered")
    assert sha256_of(model_path(spec)) == good


def test_only_https_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_BLUR_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("OBS_BLUR_BODYPIX_MIRROR", "http://127.0.0.1:9/")
    with pytest.raises(ObsBlurError, match="only https"):
        model_path(load_manifest().get("bodypix-s16"))


def test_cpu_requested() -> None:
    choice = choose_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert choice.candidates == ["CPUExecutionProvider"]


def test_gpu_missing_from_build_falls_back_visibly() -> None:
    session = create_session(model_path(load_manifest().get(None)), device="cuda")
    assert session.provider == "CPUExecutionProvider"
    assert "CUDA was requested" in session.describe()
    auto = create_session(model_path(load_manifest().get(None)), device="auto")
    assert auto.provider_short == "CPU" and "CPU-only" in auto.describe()


def test_gpu_provider_that_fails_to_start_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU build whose CUDA libraries are missing: onnxruntime drops the provider; we say so."""
    ort = import_onnxruntime()
    real_session = ort.InferenceSession

    def cuda_listed() -> list[str]:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def fake_session(path: str, sess_options: object, providers: list) -> object:
        if providers[0][0] == "CUDAExecutionProvider":
            return real_session(path, sess_options=sess_options, providers=["CPUExecutionProvider"])
        return real_session(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "get_available_providers", cuda_listed)
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    session = create_session(model_path(load_manifest().get(None)), device="auto")
    assert session.provider_short == "CPU" and "CUDA could not start" in session.describe()


def test_gpu_provider_that_raises_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    ort = import_onnxruntime()
    real_session = ort.InferenceSession

    def fake_session(path: str, sess_options: object, providers: list) -> object:
        if providers[0][0] == "TensorrtExecutionProvider":
            raise RuntimeError("TensorRT engine build failed")
        return real_session(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["TensorrtExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    session = create_session(model_path(load_manifest().get(None)), device="tensorrt")
    assert session.provider_short == "CPU"
    assert "TensorRT failed at session creation (TensorRT engine build failed)" in session.describe()


def test_unknown_device() -> None:
    with pytest.raises(ObsBlurError, match="unknown device"):
        choose_providers("tpu", [])
