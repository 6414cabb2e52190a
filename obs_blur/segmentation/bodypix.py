"""BodyPix MobileNetV1 0.50: any input size, person logits on a stride-8 or stride-16 cell grid.

Alignment trap: where cell j sits in the input depends on the input size (pixel stride*j for sizes
of the form stride*k+1, stride*j+stride-1 for multiples of the stride). We always feed 16k+1 sizes,
where cell j is centred exactly on input pixel 16j (or 8j), and place the grid with one affine warp:
a plain resize of the grid would shift the mask by half a cell.

BodyPix is on no package registry: the model comes from keijiro/BodyPixSentis at a pinned commit
(``download``). The upstream files need a fix before onnxruntime runs them well: 73 weights are also
declared as graph inputs (ORT warns and will not constant-fold them), and the stride-8 file's dilated
convolutions use ``auto_pad=SAME_UPPER``, which ORT's CPU kernel rejects. For stride-1 convolutions
SAME padding does not depend on the input size, so explicit pads give exactly the same result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.base import ModelSource, Segmenter, Size
from obs_blur.segmentation.capture import CAPTURE
from obs_blur.segmentation.manifest import ModelSpec

#: A folder or URL holding the upstream file names, used instead of the upstream (tests, offline machines).
MIRROR_ENV = "OBS_BLUR_BODYPIX_MIRROR"


class BodyPixSegmenter(Segmenter):
    """A BodyPix model: the frame area-resized to a 16k+1 size, logits on a cell grid placed exactly."""

    gpu_downsample = CAPTURE["bodypix"].downsample
    model_source = ModelSource.DOWNLOADED

    @classmethod
    def model_file(cls, spec: ModelSpec, download: bool = True) -> Path:
        """The fixed, verified file in the user's data folder; downloaded and fixed the first time.

        The download module is imported only here: its urllib and TLS stack would cost every process
        that loads the families (the OBS filter on its first frame, the worker) tens of milliseconds.
        """
        from obs_blur.segmentation.download import ensure_downloaded

        return ensure_downloaded(spec, fix_bodypix_graph, MIRROR_ENV, download=download)

    def _resize(self, frame: np.ndarray, size: Size, out: np.ndarray) -> None:
        cv2.resize(frame, size, dst=out, interpolation=cv2.INTER_AREA)

    def postprocess(self, output: np.ndarray, size: Size) -> np.ndarray:
        logits = output.reshape(output.shape[1], output.shape[2]).astype(np.float32)
        probability = 1.0 / (1.0 + np.exp(-logits))  # on the small grid: 2x cheaper than after the warp
        stride = float(self.spec.stride or 16)
        offset = bodypix_cell_offset(size[0], int(stride))
        grid_from_pixel = np.array([[1 / stride, 0, -offset / stride], [0, 1 / stride, -offset / stride]])
        return cv2.warpAffine(
            probability,
            grid_from_pixel,
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )


def bodypix_cell_offset(size: int, stride: int) -> float:
    """Input pixel on which cell 0 is centred, for an input ``size`` (measured; see the module doc)."""
    if size % stride == 1:
        return 0.0
    if size % stride == 0:
        return float(stride - 1)
    raise ObsBlurError(f"BodyPix input size {size} is neither a multiple of {stride} nor one more")


def fix_bodypix_graph(src: Path, dst: Path) -> None:
    """Rewrite the upstream graph so onnxruntime runs it; the outputs are unchanged."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ObsBlurError("BodyPix needs the `onnx` package for a one-time model fix: pip install onnx") from None
    model = onnx.load(str(src))
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(real_inputs)
    for node in graph.node:
        if node.op_type == "Conv":
            _explicit_pads_for_stride1(node, helper)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def _explicit_pads_for_stride1(node: Any, helper: Any) -> None:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("auto_pad", b"NOTSET") not in (b"SAME_UPPER", b"SAME_LOWER"):
        return
    if any(s != 1 for s in attrs.get("strides", [1, 1])):
        return  # SAME padding of a strided conv depends on the input size: keep it
    kernel = attrs["kernel_shape"]
    dilation = attrs.get("dilations", [1] * len(kernel))
    total = [(k - 1) * d for k, d in zip(kernel, dilation)]
    if any(t % 2 for t in total):
        return  # odd total padding is asymmetric; none in BodyPix, leave it untouched
    kept = [a for a in node.attribute if a.name != "auto_pad"]
    del node.attribute[:]
    node.attribute.extend(kept)
    node.attribute.append(helper.make_attribute("pads", [t // 2 for t in total] * 2))
