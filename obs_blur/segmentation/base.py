"""What every model family is: a ``Segmenter`` subclass that feeds its model exactly as it was trained.

Every segmenter turns a BGRA (or BGR) frame of any size into a person probability mask (float32,
0..1) on its *mask grid*: the model's input size. The OBS filter renders the frame at its *capture
size* on the GPU (the model's input size, or ``detail`` times it for a family whose resize allows
a crop around the person to be cut from it), so the expensive full-resolution work never reaches
the CPU; the command line hands full frames and lets the segmenter resize them.

A mask is pixel-aligned with the frame in the usual half-pixel convention, so upsampling it (on the
GPU or with ``cv2.resize``) lines it up with the full-resolution frame.

Both sizes, and the GPU resize that matches the family's own (``gpu_downsample``), come from
``capture``, where the OBS filter reads them without loading a model. A family says where its model
file comes from (``model_source``, ``model_file``), and per frame how to resize (``_resize``) and
how to read the model's output (``postprocess``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Optional

import cv2
import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.capture import GpuDownsample, Size, capture_geometry, capture_size_for, mask_size_for
from obs_blur.segmentation.manifest import ModelSpec
from obs_blur.segmentation.model_files import shipped_model_path
from obs_blur.segmentation.providers import InferenceSession, create_session


class ModelSource(Enum):
    """Where a family's model files come from."""

    SHIPPED = "shipped"  # in the models folder, sha256 in the manifest
    DOWNLOADED = "downloaded"  # fetched from a pinned upstream on first use, fixed and cached


def check_frame(frame: np.ndarray) -> None:
    """Refuse frames the pipeline cannot read, with a sentence rather than an OpenCV assertion."""
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise ObsBlurError(f"expected an 8-bit BGR or BGRA frame, got shape {frame.shape} {frame.dtype}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ObsBlurError(f"frame of {frame.shape[1]}x{frame.shape[0]} is too small to segment")


def _to_rgb_code(frame: np.ndarray) -> int:
    return cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB


class _Buffers:
    """Per-capture-size buffers reused every frame, and the session binding that points at them.

    Fresh arrays of this size cost page faults on every frame; binding input and output once lets
    onnxruntime read and write them in place.
    """

    def __init__(self, session: Any, spec: ModelSpec, size: Size) -> None:
        width, height = size
        self.size = size
        self.rgb = np.empty((height, width, 3), np.uint8)
        self.tensor = np.zeros((1, height, width, 3), np.float32)
        output_shape = session.run([spec.output_name], {spec.input_name: self.tensor})[0].shape
        self.output = np.empty(output_shape, np.float32)
        self.binding = session.io_binding()
        from onnxruntime import OrtValue

        self.binding.bind_ortvalue_input(spec.input_name, OrtValue.ortvalue_from_numpy(self.tensor))
        self.binding.bind_ortvalue_output(spec.output_name, OrtValue.ortvalue_from_numpy(self.output))


class Segmenter(ABC):
    """A loaded model: frame in, person probability at capture size out."""

    #: The GPU resize the OBS filter uses to reach capture size (every family sets it).
    gpu_downsample: ClassVar[GpuDownsample]
    #: Where the model files come from; a DOWNLOADED family also overrides ``model_file``.
    model_source: ClassVar[ModelSource] = ModelSource.SHIPPED

    def __init__(self, spec: ModelSpec, session: InferenceSession) -> None:
        self.spec = spec
        self.session = session
        self._buffers: dict[Size, _Buffers] = {}
        self._captures: dict[tuple[Size, int], np.ndarray] = {}
        self._views: dict[tuple[Size, int], np.ndarray] = {}

    # -- what the family says about a model, without loading it --------------------------------

    @classmethod
    def model_file(cls, spec: ModelSpec, download: bool = True) -> Path:
        """The verified local file of ``spec``'s model (a shipped file is never downloaded)."""
        del download
        return shipped_model_path(spec)

    @classmethod
    def load(cls, spec: ModelSpec, device: str = "auto", threads: Optional[int] = None) -> Segmenter:
        """``spec``'s model, verified, in a session on the chosen device."""
        session = create_session(cls.model_file(spec), device=device, threads=threads)
        _check_input_shape(spec, session)
        return cls(spec, session)

    # -- per frame ------------------------------------------------------------------------------

    @abstractmethod
    def _resize(self, frame: np.ndarray, size: Size, out: np.ndarray) -> None:
        """Bring a full frame to capture size (into ``out``) the way the model's own pipeline does."""

    @abstractmethod
    def postprocess(self, output: np.ndarray, size: Size) -> np.ndarray:
        """Model output → float32 probability mask of ``size`` (width, height)."""

    def capture_size(self, width: int, height: int) -> Size:
        """The (width, height) at which the filter captures a ``width`` x ``height`` frame for this model."""
        return capture_size_for(self.spec, width, height)

    def mask_size(self, width: int, height: int) -> Size:
        """The model's input size for a ``width`` x ``height`` frame, which is the mask's grid."""
        return mask_size_for(self.spec, width, height)

    @property
    def detail(self) -> int:
        """How many model inputs the capture holds across and down (``capture.CaptureGeometry``)."""
        return capture_geometry(self.spec).detail

    def _buffers_for(self, size: Size) -> _Buffers:
        buffers = self._buffers.get(size)
        if buffers is None:
            buffers = self._buffers[size] = _Buffers(self.session.session, self.spec, size)
        return buffers

    def capture(self, frame: np.ndarray) -> np.ndarray:
        """The frame at capture size, resized the way the model's own pipeline does.

        The result lives in a buffer reused for every frame of this size (no per-frame allocation):
        copy it if it must outlive the next call.
        """
        return self._resized(frame, self.capture_size(frame.shape[1], frame.shape[0]), self._captures)

    def whole_view(self, capture: np.ndarray) -> np.ndarray:
        """The model's input for the whole frame, from a capture: every ``detail``-th pixel.

        Equal to the family's own resize of the full frame (the capture is a corner-aligned warp,
        see ``CaptureGeometry``). A new array, which the caller may keep.
        """
        step = self.detail
        return np.ascontiguousarray(capture[::step, ::step]) if step > 1 else capture

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        """Model input (any frame) → the model's NHWC float32 input tensor (a reused buffer, bound to the session)."""
        small = self._model_input(frame)
        buffers = self._buffers_for((small.shape[1], small.shape[0]))
        cv2.cvtColor(small, _to_rgb_code(small), dst=buffers.rgb)
        tensor = buffers.tensor
        # One pass: uint8 → float32 with the model's scale, written straight into the bound input.
        np.multiply(buffers.rgb, np.float32(self.spec.scale), out=tensor[0], casting="unsafe")
        if self.spec.offset:
            tensor += np.float32(self.spec.offset)
        return tensor

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model (onnxruntime releases the GIL); returns a reused output buffer.

        A tensor from ``preprocess`` is already bound to the session (IOBinding: no copies, no
        allocations); any other tensor goes through a plain ``run``.
        """
        buffers = self._buffers.get((tensor.shape[2], tensor.shape[1]))
        if buffers is not None and tensor is buffers.tensor:
            self.session.session.run_with_iobinding(buffers.binding)
            return buffers.output
        return self.session.session.run([self.spec.output_name], {self.spec.input_name: tensor})[0]

    def predict(self, frame: np.ndarray) -> np.ndarray:
        """Frame → probability mask on the mask's grid (preprocess, inference, postprocess)."""
        return self.predict_with_capture(frame)[0]

    def predict_with_capture(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame → (probability mask on the mask's grid, the whole frame as the model saw it).

        The mask is a new array; the model's view may be a reused buffer (valid until the next call).
        """
        check_frame(frame)
        view = self._model_input(frame)
        return self.predict_view(view), view

    def predict_view(self, view: np.ndarray) -> np.ndarray:
        """An image at the model's input size (the whole frame or a crop) → its probability mask."""
        return self.postprocess(self._run_model(view), (view.shape[1], view.shape[0]))

    def model_view(self, frame: np.ndarray) -> np.ndarray:
        """A full frame at the model's input size, by the family's own resize: the capture's whole view.

        A reused buffer (copy it to keep it); a frame already at a size the model takes is returned.
        """
        return self._resized(frame, self.mask_size(frame.shape[1], frame.shape[0]), self._views)

    def _resized(self, frame: np.ndarray, size: Size, buffers: dict[tuple[Size, int], np.ndarray]) -> np.ndarray:
        """``frame`` by the family's resize into the buffer ``buffers`` keeps for its size; as it is at ``size``."""
        if (frame.shape[1], frame.shape[0]) == size:
            return frame
        key = (size, frame.shape[2])
        out = buffers.get(key)
        if out is None:
            out = buffers[key] = np.empty((size[1], size[0], frame.shape[2]), np.uint8)
        self._resize(frame, size, out)
        return out

    def _model_input(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` at the model's input size: a capture's whole view, or a full frame resized."""
        if (frame.shape[1], frame.shape[0]) == self.capture_size(frame.shape[1], frame.shape[0]):
            return self.whole_view(frame)
        return self.model_view(frame)

    def _run_model(self, small: np.ndarray) -> np.ndarray:
        """Preprocess and infer a capture-size frame; a GPU that fails here is replaced by the CPU.

        The frame is then run again on the CPU, so no frame is lost, and the session's notes say why
        (the worker announces the new provider). A failure on the CPU is raised as it is.
        """
        try:
            return self.infer(self.preprocess(small))
        except Exception as failure:
            if not self.session.can_fall_back:
                raise
            self.session = self.session.on_cpu_after(failure)
            self._buffers = {}  # bound to the failed session
            return self.infer(self.preprocess(small))


def _check_input_shape(spec: ModelSpec, session: InferenceSession) -> None:
    """A model whose input is not what the manifest says is refused before it produces garbage."""
    inputs = {i.name: i.shape for i in session.session.get_inputs()}
    shape = inputs.get(spec.input_name)
    if shape is None:
        raise ObsBlurError(f"model {spec.name} has no input named {spec.input_name!r} (found {list(inputs)})")
    expected = [1, spec.input_height, spec.input_width, 3]
    for got, want in zip(shape, expected):
        if isinstance(want, int) and isinstance(got, int) and got != want:
            raise ObsBlurError(f"model {spec.name} takes input {shape}, but the manifest says {expected}")
