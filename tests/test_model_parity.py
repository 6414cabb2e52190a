"""The shipped MediaPipe ONNX files are Google's models, exactly: same masks, same bytes, pinned sources.

The reference is the original .tflite run by the TensorFlow Lite interpreter (ai-edge-litert; its
default XNNPACK delegate implements MediaPipe's custom Convolution2DTransposeBias op). The .tflite
files come from the converter's own npm fetch, cached under .cache/ so that only the first run
downloads.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from obs.script_modules import load_tool

from obs_blur.segmentation.base import ModelSource
from obs_blur.segmentation.families import family_of
from obs_blur.segmentation.manifest import load_manifest

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS = REPO_ROOT / "models"
TOOL = REPO_ROOT / "tools" / "convert_models.py"
MAX_ABS_DIFF = 2e-4
PHOTOS = ("astronaut", "camera", "coffee", "chelsea")
PEOPLE = ("astronaut", "camera")
MIN_PERSON_FRACTION = 0.2  # measured: astronaut 0.55, camera 0.31-0.33 of the model's pixels


convert_models = load_tool("convert_models")
RECIPES = {r.name: r for r in convert_models.RECIPES}
TFLITE_CACHE = REPO_ROOT / ".cache" / f"mediapipe-selfie_segmentation-{convert_models.NPM_VERSION}"


@pytest.fixture(scope="module")
def tflite_files() -> dict[str, Path]:
    """The pinned upstream .tflite files (npm pack on the first run, then the .cache/ copy)."""
    try:
        return convert_models.fetch_tflite_files(TFLITE_CACHE)
    except convert_models.ConvertError as exc:
        pytest.fail(f"cannot get the pinned MediaPipe .tflite files: {exc}")


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    """Real photos as RGB uint8 (the cameraman is grey, so his channel is repeated)."""
    from skimage import data

    images = {}
    for name in PHOTOS:
        image = getattr(data, name)()
        images[name] = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image[..., :3]
    return images


def _manifest() -> dict[str, Any]:
    return json.loads((MODELS / "manifest.json").read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _litert(path: Path) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def _run_litert(interpreter: Any, tensor: np.ndarray) -> np.ndarray:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


@pytest.mark.parametrize("name", list(RECIPES))
def test_onnx_matches_tflite_on_real_photos(
    name: str, tflite_files: dict[str, Path], photos: dict[str, np.ndarray]
) -> None:
    recipe = RECIPES[name]
    interpreter = _litert(tflite_files[recipe.tflite_file])
    session = ort.InferenceSession(str(MODELS / recipe.onnx_file), providers=["CPUExecutionProvider"])
    shape = [1, recipe.height, recipe.width, 3]
    assert list(interpreter.get_input_details()[0]["shape"]) == shape
    assert session.get_inputs()[0].shape == shape and session.get_inputs()[0].name == "input"

    report = []
    for photo, rgb in photos.items():
        small = cv2.resize(rgb, (recipe.width, recipe.height), interpolation=cv2.INTER_AREA)
        tensor = (small.astype(np.float32) / 255.0)[None]
        expected = _run_litert(interpreter, tensor)
        actual = session.run(["mask"], {"input": tensor})[0]
        assert actual.shape == expected.shape == (1, recipe.height, recipe.width, 1)
        diff = float(np.abs(actual - expected).max())
        person = float((actual > 0.5).mean())
        report.append(f"{photo}: max abs diff {diff:.2e}, foreground {person:.3f}")
        assert diff <= MAX_ABS_DIFF, f"{name} on {photo}: {report[-1]}"
        assert actual.min() >= 0.0 and actual.max() <= 1.0
        if photo in PEOPLE:
            assert person >= MIN_PERSON_FRACTION, f"{name} finds almost no person in {photo}: {report[-1]}"
    print(f"\n{name}: " + "; ".join(report))


def test_manifest_sha256_matches_the_shipped_files() -> None:
    manifest = _manifest()
    by_name = {m["name"]: m for m in manifest["models"]}
    assert manifest["schema"] == 1 and manifest["default"] == "mediapipe-landscape"
    for recipe in RECIPES.values():
        entry = by_name[recipe.name]
        assert entry["sha256"] == _sha256(MODELS / entry["file"]), f"{entry['file']} differs from the manifest"
        assert entry == convert_models.manifest_entry(recipe, entry["sha256"]), "manifest entry not in the schema"
    for spec in load_manifest().models:
        if family_of(spec).model_source is ModelSource.DOWNLOADED:
            assert not (MODELS / spec.file).exists(), "downloaded models must never be committed"
            assert spec.source["url"].startswith("https://") and len(spec.source["sha256"]) == 64


def test_converter_reproduces_the_shipped_files_byte_for_byte(tflite_files: dict[str, Path], tmp_path: Path) -> None:
    built = convert_models.build_all(tflite_files)
    assert built == convert_models.build_all(tflite_files), "two conversions in one process differ"

    out = tmp_path / "models"
    result = _run_tool("--tflite-dir", str(TFLITE_CACHE), "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    for recipe in RECIPES.values():
        shipped = (MODELS / recipe.onnx_file).read_bytes()
        assert (out / recipe.onnx_file).read_bytes() == shipped == built[recipe.onnx_file], recipe.onnx_file
    rebuilt = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["models"]
    shipped_entries = [m for m in _manifest()["models"] if m["name"] in RECIPES]
    assert rebuilt == shipped_entries


def _run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("damage", ["one byte changed", "file missing", "not a folder"])
def test_bad_tflite_input_is_refused_clearly(damage: str, tflite_files: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "tflite"
    source.mkdir()
    for path in tflite_files.values():
        shutil.copy(path, source / path.name)
    target = source / RECIPES["mediapipe-landscape"].tflite_file
    expected = {"one byte changed": "sha256 .* pinned", "file missing": "is missing", "not a folder": "not a folder"}
    if damage == "one byte changed":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "file missing":
        target.unlink()
    else:
        source = tmp_path / "nowhere"
    out = tmp_path / "out"
    result = _run_tool("--tflite-dir", str(source), "--out-dir", str(out))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.search(expected[damage], result.stderr), result.stderr
    assert not out.exists(), "nothing may be written from a refused input"
