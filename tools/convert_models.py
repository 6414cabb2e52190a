#!/usr/bin/env python3
"""Rebuild the shipped MediaPipe selfie-segmentation models (models/*.onnx) from Google's originals.

obs-blur ships two ONNX files converted from MediaPipe's selfie-segmentation .tflite models. This
tool makes that conversion reproducible, so anyone can check that the shipped files are exactly
Google's weights and nothing else:

  1. download the npm package @mediapipe/selfie_segmentation at a pinned version (with `npm pack`)
     and take its two .tflite files, refusing any file whose sha256 differs from the pinned value;
  2. convert each .tflite to ONNX with only the `tflite` flatbuffer reader, `onnx` and numpy (no
     TensorFlow): the same operations, the same weights (fp16 widened to fp32), opset 17;
  3. write models/<name>.onnx (byte-identical on every run) and the MediaPipe entries of
     models/manifest.json (other entries, such as BodyPix, are kept as they are).

It needs Node.js (for npm) unless --tflite-dir is given, plus `pip install tflite==2.18.0 onnx`
(or `pip install -e .[convert]`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

try:
    import numpy as np
    import onnx
    import tflite
    from onnx import TensorProto, helper, numpy_helper
except ImportError as _exc:  # reported by main() as one sentence instead of a traceback
    _IMPORT_ERROR: Optional[ImportError] = _exc
else:
    _IMPORT_ERROR = None

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "models"
MANIFEST_NAME = "manifest.json"

NPM_PACKAGE = "@mediapipe/selfie_segmentation"
NPM_VERSION = "0.1.1675465747"
LICENCE = "Apache-2.0"
OPSET = 17
IR_VERSION = 8  # onnxruntime >= 1.14 reads IR 8; newer IR versions would lock out older runtimes
CONVERTER_ID = "obs-blur tools/convert_models.py 1"
NPM_TIMEOUT_S = 300


@dataclass(frozen=True)
class ModelRecipe:
    """One shipped model: which pinned .tflite it comes from and how the manifest describes it."""

    name: str
    tflite_file: str
    tflite_sha256: str
    onnx_file: str
    width: int
    height: int
    description: str


RECIPES: tuple[ModelRecipe, ...] = (
    ModelRecipe(
        name="mediapipe-landscape",
        tflite_file="selfie_segmentation_landscape.tflite",
        tflite_sha256="4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894",
        onnx_file="selfie_segmentation_landscape_144x256.onnx",
        width=256,
        height=144,
        description="MediaPipe selfie segmentation, landscape 256x144 (the Google Meet-style model). "
        "Fast; best for 16:9 webcams.",
    ),
    ModelRecipe(
        name="mediapipe-general",
        tflite_file="selfie_segmentation.tflite",
        tflite_sha256="8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27",
        onnx_file="selfie_segmentation_general_256x256.onnx",
        width=256,
        height=256,
        description="MediaPipe selfie segmentation, general 256x256. Square input, so a 16:9 frame is "
        "squeezed; more model pixels than landscape at about 1.7x its cost.",
    ),
)


class ConvertError(Exception):
    """A problem the user can act on; main() prints it as one line and exits non-zero."""


# ---------------------------------------------------------------------------------------------
# Fetching and verifying the pinned .tflite files
# ---------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file (the models are small, so one read is fine)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_tflite(path: Path, recipe: ModelRecipe) -> None:
    """Refuse a .tflite that is missing or not byte-for-byte the pinned upstream file.

    The ONNX files are only trustworthy if their input is Google's published file, so a changed
    byte is an error, never a warning.
    """
    if not path.is_file():
        raise ConvertError(f"{path} is missing: it should be {recipe.tflite_file} from {NPM_PACKAGE}@{NPM_VERSION}")
    actual = sha256_of(path)
    if actual != recipe.tflite_sha256:
        raise ConvertError(
            f"{path} has sha256 {actual}, but {NPM_PACKAGE}@{NPM_VERSION} {recipe.tflite_file} is pinned to "
            f"{recipe.tflite_sha256}: refusing to convert a file that is not the published model "
            "(re-download it, or run without --tflite-dir)"
        )


def verified_tflite_files(folder: Path) -> dict[str, Path]:
    """The pinned .tflite files in ``folder``, each checked against its sha256."""
    if not folder.is_dir():
        raise ConvertError(f"--tflite-dir {folder} is not a folder")
    paths = {r.tflite_file: folder / r.tflite_file for r in RECIPES}
    for recipe in RECIPES:
        verify_tflite(paths[recipe.tflite_file], recipe)
    return paths


def fetch_tflite_files(dest: Path) -> dict[str, Path]:
    """Put the pinned .tflite files in ``dest`` and return their paths, downloading only if needed.

    Files already in ``dest`` with the right sha256 are reused, so ``dest`` can be a cache; anything
    else is fetched with ``npm pack`` (which checks the registry's own integrity hash) into a
    temporary folder, and every extracted file is checked against the pinned sha256.
    """
    dest.mkdir(parents=True, exist_ok=True)
    paths = {r.tflite_file: dest / r.tflite_file for r in RECIPES}
    if all(_matches(paths[r.tflite_file], r) for r in RECIPES):
        return paths
    with tempfile.TemporaryDirectory(prefix="obs-blur-npm-") as tmp:
        tarball = _npm_pack(Path(tmp))
        _extract_tflite_files(tarball, dest)
    for recipe in RECIPES:
        verify_tflite(paths[recipe.tflite_file], recipe)
    return paths


def _matches(path: Path, recipe: ModelRecipe) -> bool:
    return path.is_file() and sha256_of(path) == recipe.tflite_sha256


def _npm_pack(folder: Path) -> Path:
    """Download the pinned package tarball into ``folder`` with npm; return the .tgz path."""
    npm = shutil.which("npm")
    if npm is None:
        raise ConvertError(
            "npm was not found: install Node.js (which includes npm), or download the package yourself "
            "and pass --tflite-dir (see --help)"
        )
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    cmd = [npm, "pack", spec, "--ignore-scripts", "--silent"]
    try:
        result = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConvertError(f"`npm pack {spec}` took over {NPM_TIMEOUT_S} s: is the npm registry reachable?") from None
    tarballs = sorted(folder.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConvertError(f"`npm pack {spec}` failed (exit {result.returncode}): {detail}")
    return tarballs[0]


def _extract_tflite_files(tarball: Path, dest: Path) -> None:
    """Copy only the two .tflite members out of the npm tarball (nothing else is unpacked).

    Each file appears atomically, so a second process sharing ``dest`` as a cache never reads half
    a file.
    """
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for recipe in RECIPES:
                member = archive.extractfile(f"package/{recipe.tflite_file}")
                if member is None:
                    raise KeyError(recipe.tflite_file)
                write_atomically(dest / recipe.tflite_file, member.read())
    except (KeyError, tarfile.TarError) as exc:
        raise ConvertError(f"{tarball.name} does not contain the expected .tflite files ({exc})") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a private temporary name, then rename: readers see the old file or the new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; models are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# tflite -> ONNX
# ---------------------------------------------------------------------------------------------

#: TensorFlow Lite's TfLitePadding enum, as stored in the custom op's raw options struct.
_CUSTOM_PADDING = {1: "SAME", 2: "VALID"}
_XENO_SUFFIX = re.compile(r"__xeno_compat__\d+$")


def _enum_names(enum_class: type) -> dict[int, str]:
    """Invert a flatbuffers enum class (name -> value) so codes can be reported by name."""
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


def _numpy_dtype(tensor_type: int) -> Any:
    dtypes = {
        tflite.TensorType.FLOAT32: np.float32,
        tflite.TensorType.FLOAT16: np.float16,
        tflite.TensorType.INT32: np.int32,
    }
    if tensor_type not in dtypes:
        raise ConvertError(f"constant of tflite tensor type {tensor_type} is not supported")
    return dtypes[tensor_type]


def same_pads(in_hw: list[int], kernel_hw: list[int], stride_hw: list[int], dilation_hw: list[int]) -> list[int]:
    """TensorFlow SAME padding as explicit ONNX pads [top, left, bottom, right].

    TF puts the odd pixel at the end (bottom/right). ONNX's SAME_UPPER would too, but explicit
    pads keep the graph independent of auto_pad support in each runtime's kernels.
    """
    begin, end = [], []
    for size, kernel, stride, dilation in zip(in_hw, kernel_hw, stride_hw, dilation_hw):
        extent = (kernel - 1) * dilation + 1
        out = -(-size // stride)
        total = max((out - 1) * stride + extent - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


class TfliteConverter:
    """Walks a tflite subgraph once, in order, writing the equivalent NCHW ONNX graph.

    The tflite graph is NHWC; ONNX convolutions are NCHW. Rather than wrap every op in transposes,
    the whole ONNX graph is NCHW (weights are re-laid out once, here) and only the graph input
    and output are transposed, so the model keeps the tflite's NHWC interface.
    """

    def __init__(self, data: bytes, label: str) -> None:
        self.label = label
        try:
            self.model = tflite.Model.GetRootAs(data, 0)
            self.graph = self.model.Subgraphs(0)
        except Exception as exc:  # a flatbuffer that is not a model fails in many ways
            raise ConvertError(f"{label} is not a readable .tflite model ({exc})") from None
        self.op_names = _enum_names(tflite.BuiltinOperator)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.values: dict[int, str] = {}  # tflite tensor index -> ONNX value name (NCHW)
        self.folded: dict[int, tuple[np.ndarray, str]] = {}  # DEQUANTIZE outputs -> (fp32 array, name)
        self.used_names: set[str] = set()

    # -- naming and tensors -------------------------------------------------------------------

    def unique(self, name: str) -> str:
        """Reserve a unique ONNX name, close to the readable tflite name."""
        candidate, n = name, 1
        while candidate in self.used_names:
            n += 1
            candidate = f"{name}_{n}"
        self.used_names.add(candidate)
        return candidate

    def tensor_name(self, index: int) -> str:
        """The tflite tensor name without the converter's ``__xeno_compat__1`` noise."""
        return _XENO_SUFFIX.sub("", self.graph.Tensors(index).Name().decode())

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.graph.Tensors(index).ShapeAsNumpy()]

    def constant(self, index: int) -> tuple[np.ndarray, str]:
        """A constant tensor as fp32/int32 numpy plus its source name; fp16 weights were folded."""
        if index in self.folded:
            return self.folded[index]
        tensor = self.graph.Tensors(index)
        buffer = self.model.Buffers(tensor.Buffer())
        if buffer is None or buffer.DataLength() == 0:
            raise ConvertError(f"{self.label}: tensor {self.tensor_name(index)} is not a constant")
        raw = buffer.DataAsNumpy().tobytes()
        array = np.frombuffer(raw, _numpy_dtype(tensor.Type())).reshape(self.shape(index))
        return array, self.tensor_name(index)

    def value(self, index: int) -> str:
        if index not in self.values:
            raise ConvertError(f"{self.label}: tensor {self.tensor_name(index)} is used before it is computed")
        return self.values[index]

    def initializer(self, array: np.ndarray, name: str) -> str:
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        """Append one node whose output (and node name) is ``output``, already reserved."""
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def emit_for(self, op_type: str, inputs: list[str], out_index: int, **attrs: Any) -> str:
        """Append a node that computes tflite tensor ``out_index``."""
        output = self.emit(op_type, inputs, self.unique(self.tensor_name(out_index)), **attrs)
        self.values[out_index] = output
        return output

    def emit_with_activation(
        self, op_type: str, inputs: list[str], out_index: int, activation: int, **attrs: Any
    ) -> None:
        """A node with tflite's fused activation split into its own ONNX node when there is one."""
        kind = _enum_names(tflite.ActivationFunctionType)[activation]
        if kind == "NONE":
            self.emit_for(op_type, inputs, out_index, **attrs)
            return
        if kind != "RELU":
            raise ConvertError(f"{self.label}: fused activation {kind} is not supported")
        pre = self.emit(op_type, inputs, self.unique(f"{self.tensor_name(out_index)}/pre_relu"), **attrs)
        self.emit_for("Relu", [pre], out_index)

    # -- the walk -----------------------------------------------------------------------------

    @property
    def description(self) -> str:
        """The tflite's own description string (it names the Keras model it was exported from)."""
        raw = self.model.Description()
        return raw.decode() if raw else ""

    def convert(self) -> tuple[Any, Any]:
        """Convert every operator into ``nodes``/``initializers``; return the graph's input and output."""
        if self.model.SubgraphsLength() != 1 or self.graph.InputsLength() != 1 or self.graph.OutputsLength() != 1:
            raise ConvertError(f"{self.label}: expected one subgraph with one input and one output")
        in_index, out_index = self.graph.Inputs(0), self.graph.Outputs(0)
        graph_input = self._graph_input(in_index)
        for k in range(self.graph.OperatorsLength()):
            self._convert_operator(self.graph.Operators(k))
        return graph_input, self._graph_output(out_index)

    def _graph_input(self, index: int) -> Any:
        """The NHWC float input named ``input``, transposed once to the NCHW the graph works in."""
        shape = self.shape(index)
        if self.graph.Tensors(index).Type() != tflite.TensorType.FLOAT32 or len(shape) != 4:
            raise ConvertError(f"{self.label}: expected a 4-D float32 NHWC input, got shape {shape}")
        n, h, w, c = shape
        name = self.unique("input")
        self.values[index] = self.emit("Transpose", [name], self.unique("input_nchw"), perm=[0, 3, 1, 2])
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, h, w, c])

    def _graph_output(self, index: int) -> Any:
        """The last NCHW value transposed back to the tflite's NHWC output, named ``mask``."""
        n, h, w, c = self.shape(index)
        name = self.emit("Transpose", [self.value(index)], self.unique("mask"), perm=[0, 2, 3, 1])
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, h, w, c])

    def _convert_operator(self, op: Any) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = self.op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
        if builtin == "CUSTOM":
            custom = code.CustomCode().decode()
            if custom != "Convolution2DTransposeBias":
                raise ConvertError(f"{self.label}: custom operator {custom} is not supported")
            self._transpose_conv_bias(op)
            return
        handler = getattr(self, f"_op_{builtin.lower()}", None)
        if handler is None:
            raise ConvertError(f"{self.label}: operator {builtin} is not supported by this converter")
        handler(op)

    def _options(self, op: Any, options_class: type) -> Any:
        table = op.BuiltinOptions()
        options = options_class()
        options.Init(table.Bytes, table.Pos)
        return options

    # -- operators ----------------------------------------------------------------------------

    def _op_dequantize(self, op: Any) -> None:
        """fp16 weights -> fp32 initializers, folded at conversion time (no Cast in the graph)."""
        array, name = self.constant(op.Inputs(0))
        if array.dtype != np.float16:
            raise ConvertError(f"{self.label}: only fp16 DEQUANTIZE is supported, got {array.dtype}")
        self.folded[op.Outputs(0)] = (array.astype(np.float32), name)

    def _op_conv_2d(self, op: Any) -> None:
        options = self._options(op, tflite.Conv2DOptions)
        weights, name = self.constant(op.Inputs(1))
        self._conv(op, options, weights.transpose(0, 3, 1, 2), name, group=1)  # OHWI -> OIHW

    def _op_depthwise_conv_2d(self, op: Any) -> None:
        options = self._options(op, tflite.DepthwiseConv2DOptions)
        weights, name = self.constant(op.Inputs(1))
        channels = self.shape(op.Inputs(0))[3]
        if options.DepthMultiplier() != 1 or weights.shape[3] != channels:
            raise ConvertError(f"{self.label}: depthwise convolution with a depth multiplier is not supported")
        self._conv(op, options, weights.transpose(3, 0, 1, 2), name, group=channels)  # 1HWC -> C1HW

    def _conv(self, op: Any, options: Any, weights: np.ndarray, name: str, group: int) -> None:
        kernel = list(weights.shape[2:])
        stride = [options.StrideH(), options.StrideW()]
        dilation = [options.DilationHFactor(), options.DilationWFactor()]
        in_hw = self.shape(op.Inputs(0))[1:3]
        pads = same_pads(in_hw, kernel, stride, dilation) if options.Padding() == tflite.Padding.SAME else [0] * 4
        inputs = [self.value(op.Inputs(0)), self.initializer(weights, name)]
        if op.InputsLength() > 2 and op.Inputs(2) >= 0:
            bias, bias_name = self.constant(op.Inputs(2))
            inputs.append(self.initializer(bias, bias_name))
        self.emit_with_activation(
            "Conv",
            inputs,
            op.Outputs(0),
            options.FusedActivationFunction(),
            kernel_shape=kernel,
            strides=stride,
            dilations=dilation,
            pads=pads,
            group=group,
        )

    def _unary(self, op: Any, op_type: str) -> None:
        self.emit_for(op_type, [self.value(op.Inputs(0))], op.Outputs(0))

    def _op_hard_swish(self, op: Any) -> None:
        self._unary(op, "HardSwish")

    def _op_relu(self, op: Any) -> None:
        self._unary(op, "Relu")

    def _op_logistic(self, op: Any) -> None:
        self._unary(op, "Sigmoid")

    def _binary(self, op: Any, op_type: str, options_class: type) -> None:
        """ADD/MUL of two computed tensors; NCHW broadcasting matches NHWC's for these shapes."""
        options = self._options(op, options_class)
        inputs = [self.value(op.Inputs(i)) for i in range(op.InputsLength())]
        self.emit_with_activation(op_type, inputs, op.Outputs(0), options.FusedActivationFunction())

    def _op_add(self, op: Any) -> None:
        self._binary(op, "Add", tflite.AddOptions)

    def _op_mul(self, op: Any) -> None:
        self._binary(op, "Mul", tflite.MulOptions)

    def _op_average_pool_2d(self, op: Any) -> None:
        """Only the global pooling of the squeeze-excite blocks: a window the size of the input."""
        options = self._options(op, tflite.Pool2DOptions)
        _, h, w, _ = self.shape(op.Inputs(0))
        window = (options.FilterHeight(), options.FilterWidth())
        if window != (h, w) or options.Padding() != tflite.Padding.VALID or options.FusedActivationFunction() != 0:
            raise ConvertError(f"{self.label}: only global AVERAGE_POOL_2D is supported")
        self.emit_for("GlobalAveragePool", [self.value(op.Inputs(0))], op.Outputs(0))

    def _op_mean(self, op: Any) -> None:
        """MEAN over H and W with kept dims is the same global pooling (the landscape model's form)."""
        options = self._options(op, tflite.ReducerOptions)
        axes, _ = self.constant(op.Inputs(1))
        if sorted(int(a) for a in axes.ravel()) != [1, 2] or not options.KeepDims():
            raise ConvertError(f"{self.label}: only MEAN over axes 1 and 2 with keep_dims is supported")
        self.emit_for("GlobalAveragePool", [self.value(op.Inputs(0))], op.Outputs(0))

    def _op_resize_bilinear(self, op: Any) -> None:
        """Bilinear upsampling to the tflite's static output size, same sampling grid convention."""
        options = self._options(op, tflite.ResizeBilinearOptions)
        if options.AlignCorners():
            mode = "align_corners"
        else:
            mode = "half_pixel" if options.HalfPixelCenters() else "asymmetric"
        n, h, w, c = self.shape(op.Outputs(0))
        sizes = self.initializer(np.array([n, c, h, w], np.int64), f"{self.tensor_name(op.Outputs(0))}/sizes")
        self.emit_for(
            "Resize",
            [self.value(op.Inputs(0)), "", "", sizes],
            op.Outputs(0),
            mode="linear",
            coordinate_transformation_mode=mode,
        )

    def _transpose_conv_bias(self, op: Any) -> None:
        """MediaPipe's Convolution2DTransposeBias: a transposed convolution with a bias added.

        Its options are a raw little-endian struct {padding, stride_w, stride_h}, not a flatbuffer;
        the kernel is OHWI, which ONNX ConvTranspose wants as [in, out, kh, kw].
        """
        raw = op.CustomOptionsAsNumpy().tobytes() if op.CustomOptionsLength() else b""
        if len(raw) < 12:
            raise ConvertError(f"{self.label}: Convolution2DTransposeBias options are truncated")
        padding, stride_w, stride_h = (int(v) for v in np.frombuffer(raw[:12], "<i4"))
        weights, name = self.constant(op.Inputs(1))
        bias, bias_name = self.constant(op.Inputs(2))
        _, kh, kw, _ = weights.shape
        pads = self._transpose_pads(op, padding, (kh, kw), (stride_h, stride_w))
        inputs = [
            self.value(op.Inputs(0)),
            self.initializer(weights.transpose(3, 0, 1, 2), name),
            self.initializer(bias, bias_name),
        ]
        self.emit_for(
            "ConvTranspose", inputs, op.Outputs(0), kernel_shape=[kh, kw], strides=[stride_h, stride_w], pads=pads
        )

    def _transpose_pads(self, op: Any, padding: int, kernel: tuple[int, int], stride: tuple[int, int]) -> list[int]:
        """Cropping that turns ONNX's full transposed-conv output into the tflite output size."""
        kind = _CUSTOM_PADDING.get(padding)
        in_hw, out_hw = self.shape(op.Inputs(0))[1:3], self.shape(op.Outputs(0))[1:3]
        want = [n * s for n, s in zip(in_hw, stride)] if kind == "SAME" else None
        if kind == "VALID":
            want = [(n - 1) * s + k for n, s, k in zip(in_hw, stride, kernel)]
        if want is None or want != out_hw:
            raise ConvertError(f"{self.label}: Convolution2DTransposeBias padding {padding} gives an unexpected size")
        totals = [(n - 1) * s + k - o for n, s, k, o in zip(in_hw, stride, kernel, out_hw)]
        return [t // 2 for t in totals] + [t - t // 2 for t in totals]


# ---------------------------------------------------------------------------------------------
# Model assembly, metadata and deterministic bytes
# ---------------------------------------------------------------------------------------------


def preprocessing_text(recipe: ModelRecipe) -> str:
    return (
        f"RGB float32 NHWC [1,{recipe.height},{recipe.width},3], value = uint8/255 in 0..1; the whole frame "
        f"stretched to {recipe.width}x{recipe.height} (MediaPipe ImageToTensor, keep_aspect_ratio=false, "
        "corner-aligned bilinear)"
    )


def output_text(recipe: ModelRecipe) -> str:
    return (
        f"mask: float32 NHWC [1,{recipe.height},{recipe.width},1], person probability 0..1 (after sigmoid); "
        "resize it bilinearly to the frame size"
    )


def metadata(recipe: ModelRecipe, tflite_description: str) -> list[tuple[str, str]]:
    """Provenance and usage stamped into the ONNX file, so the file explains itself without us."""
    return [
        ("source", f"npm {NPM_PACKAGE}@{NPM_VERSION} {recipe.tflite_file}"),
        ("source_package", NPM_PACKAGE),
        ("source_version", NPM_VERSION),
        ("source_file", recipe.tflite_file),
        ("source_sha256", recipe.tflite_sha256),
        ("source_description", tflite_description),
        ("licence", LICENCE),
        ("copyright", "The MediaPipe Authors (Google LLC); converted to ONNX by obs-blur, weights unchanged"),
        ("preprocessing", preprocessing_text(recipe)),
        ("output", output_text(recipe)),
        ("converter", f"{CONVERTER_ID} (tflite flatbuffer -> ONNX opset {OPSET}; fp16 weights widened to fp32)"),
    ]


def convert_tflite(path: Path, recipe: ModelRecipe) -> Any:
    """Convert one verified .tflite into a checked ONNX ModelProto with provenance metadata."""
    converter = TfliteConverter(path.read_bytes(), path.name)
    graph_input, graph_output = converter.convert()
    description = converter.description
    graph = helper.make_graph(converter.nodes, recipe.name, [graph_input], [graph_output], converter.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="obs-blur",
        producer_version=CONVERTER_ID.rsplit(" ", 1)[-1],
        doc_string=f"{recipe.description} Converted from {recipe.tflite_file} ({description}).",
    )
    for key, value in metadata(recipe, description):
        model.metadata_props.add(key=key, value=value)
    return check_model(model, path.name)


def check_model(model: Any, label: str) -> Any:
    """Annotate shapes (readable in Netron) and run ONNX's full checker; a failure is a converter bug."""
    try:
        model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ConvertError(f"{label}: the converted model fails the ONNX checker ({exc})") from None
    return model


def model_bytes(model: Any) -> bytes:
    """Serialize deterministically: the same inputs must give byte-identical files."""
    return model.SerializeToString(deterministic=True)


def build_all(tflite_paths: dict[str, Path]) -> dict[str, bytes]:
    """ONNX bytes of every recipe, keyed by output file name."""
    return {r.onnx_file: model_bytes(convert_tflite(tflite_paths[r.tflite_file], r)) for r in RECIPES}


# ---------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------


def manifest_entry(recipe: ModelRecipe, onnx_sha256: str) -> dict[str, Any]:
    """The manifest entry for one MediaPipe model (the schema other code reads; keep the keys)."""
    return {
        "name": recipe.name,
        "family": "mediapipe",
        "file": recipe.onnx_file,
        "sha256": onnx_sha256,
        "input": {
            "name": "input",
            "layout": "NHWC",
            "width": recipe.width,
            "height": recipe.height,
            "channels": "RGB",
            "dtype": "float32",
        },
        "normalisation": {"scale": 1.0 / 255.0, "offset": 0.0, "range": [0.0, 1.0]},
        "resize": "corner-aligned bilinear (MediaPipe ImageToTensor, keep_aspect_ratio=false)",
        "output": {
            "name": "mask",
            "layout": "NHWC",
            "meaning": "person probability 0..1 after sigmoid, same size as the input",
        },
        "licence": LICENCE,
        "source": {
            "kind": "npm",
            "package": NPM_PACKAGE,
            "version": NPM_VERSION,
            "file": recipe.tflite_file,
            "sha256": recipe.tflite_sha256,
        },
        "description": recipe.description,
    }


def read_manifest(path: Path) -> dict[str, Any]:
    """The existing manifest, or a new one when there is none yet."""
    if not path.exists():
        return {"schema": 1, "default": RECIPES[0].name, "models": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConvertError(f"{path} is not readable JSON ({exc}): fix or delete it") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ConvertError(f'{path} has no "models" list of entries: fix or delete it')
    return data


def updated_manifest(data: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace our entries in place (new ones go first); other models are kept untouched."""
    ours = {e["name"]: e for e in entries}
    models = [ours.pop(m.get("name"), m) for m in data["models"]]
    models = [e for e in entries if e["name"] in ours] + models
    return {
        "schema": data.get("schema", 1),
        "default": data.get("default", RECIPES[0].name),
        **{k: v for k, v in data.items() if k not in ("schema", "default", "models")},
        "models": models,
    }


def format_manifest(data: dict[str, Any]) -> str:
    """JSON with one line per entry field: short lines and small diffs when one value changes."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    head = [f"  {dump(k)}: {dump(v)}," for k, v in data.items() if k != "models"]
    entries = []
    for entry in data["models"]:
        fields = ",\n".join(f"      {dump(k)}: {dump(v)}" for k, v in entry.items())
        entries.append("    {\n" + fields + "\n    }")
    return "{\n" + "\n".join(head) + '\n  "models": [\n' + ",\n".join(entries) + "\n  ]\n}\n"


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write atomically (never a half-written model); True when the content changed."""
    if path.is_file() and path.read_bytes() == data:
        return False
    write_atomically(path, data)
    return True


def planned_files(tflite_paths: dict[str, Path], out_dir: Path) -> dict[Path, bytes]:
    """Every file this tool writes, with its exact content."""
    onnx_files = build_all(tflite_paths)
    entries = [manifest_entry(r, hashlib.sha256(onnx_files[r.onnx_file]).hexdigest()) for r in RECIPES]
    manifest_path = out_dir / MANIFEST_NAME
    manifest = updated_manifest(read_manifest(manifest_path), entries)
    files = {out_dir / name: data for name, data in onnx_files.items()}
    files[manifest_path] = format_manifest(manifest).encode("utf-8")
    return files


def run(tflite_dir: Optional[Path], out_dir: Path, check: bool) -> int:
    """Convert and write (or only compare, with ``check``); the exit status for main()."""
    if tflite_dir is not None:
        files = planned_files(verified_tflite_files(tflite_dir), out_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="obs-blur-tflite-") as tmp:
            print(f"downloading {NPM_PACKAGE}@{NPM_VERSION} with npm pack ...", file=sys.stderr)
            files = planned_files(fetch_tflite_files(Path(tmp)), out_dir)
    if check:
        return report_check(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        state = "written" if write_if_changed(path, data) else "unchanged"
        print(f"{state:9}  {path}  sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


def report_check(files: dict[Path, bytes]) -> int:
    """--check: 0 when every file on disk is exactly what the tool would write, 1 otherwise."""
    stale = [p for p, data in files.items() if not p.is_file() or p.read_bytes() != data]
    for path in files:
        print(f"{'DIFFERS' if path in stale else 'ok':7}  {path}")
    if stale:
        print("the files above marked DIFFERS are not what this tool builds: run it without --check", file=sys.stderr)
    return 1 if stale else 0


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python tools/convert_models.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""examples:
  python tools/convert_models.py                  download, convert, update models/
  python tools/convert_models.py --check          exit 1 if models/ is not what this tool builds
  python tools/convert_models.py --tflite-dir DIR use .tflite files you already have (offline)

getting the .tflite files by hand (for --tflite-dir):
  npm pack {NPM_PACKAGE}@{NPM_VERSION} && tar xzf mediapipe-selfie_segmentation-{NPM_VERSION}.tgz
  then pass --tflite-dir package

exit status: 0 done, 1 --check found a difference, 2 error (printed as one line).""",
    )
    parser.add_argument(
        "--tflite-dir",
        type=Path,
        metavar="DIR",
        help="folder holding "
        + " and ".join(r.tflite_file for r in RECIPES)
        + " (still sha256-checked); without it they are downloaded with npm",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        metavar="DIR",
        default=DEFAULT_OUT_DIR,
        help=f"where the .onnx files and {MANIFEST_NAME} go (default: the repository's models/)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; compare what would be written with the files in --out-dir"
    )
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if _IMPORT_ERROR is not None:
        print(
            f"error: {_IMPORT_ERROR.name or _IMPORT_ERROR} is not installed: pip install tflite==2.18.0 onnx numpy "
            "(or pip install -e .[convert])",
            file=sys.stderr,
        )
        return 2
    try:
        return run(args.tflite_dir, args.out_dir, args.check)
    except ConvertError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable --out-dir, a full disk, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
