"""A GPU that fails while running (not at session creation): the model moves to the CPU, visibly.

This machine has no GPU, so the GPU session is onnxruntime's real CPU session behind a stand-in
that reports CUDA as its provider and raises, like a CUDA session after a driver reset, once told
to. Everything else (model files, sessions, the pipeline, the worker's events) is real.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from obs_blur.segmentation.families import load_segmenter
from obs_blur.segmentation.providers import CPU_PROVIDER, import_onnxruntime
from obs_blur.worker.protocol import Configure
from obs_blur.worker.server import EventStream, MaskWorker
from obs_blur.worker.shared_block import SharedBlock

LANDSCAPE = "mediapipe-landscape"
CAPTURE = (256, 144)
CUDA_FAILURE = "CUDA failure 700: an illegal memory access was encountered"


class FailingCudaSession:
    """A session that says it runs on CUDA and raises in ``run`` once ``broken`` is set."""

    broken = False

    def __init__(self, real: Any) -> None:
        self._real = real

    def get_providers(self) -> list[str]:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self._fail_if_broken()
        return self._real.run(*args, **kwargs)

    def run_with_iobinding(self, *args: Any, **kwargs: Any) -> Any:
        self._fail_if_broken()
        return self._real.run_with_iobinding(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _fail_if_broken(self) -> None:
        if FailingCudaSession.broken:
            raise RuntimeError(CUDA_FAILURE)


@pytest.fixture
def failing_cuda(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FailingCudaSession]]:
    """onnxruntime with a CUDA provider whose sessions fail at run time once ``broken`` is set."""
    ort = import_onnxruntime()
    real_session = ort.InferenceSession

    def session(path: str, sess_options: Any, providers: list) -> Any:
        if providers[0][0] == "CUDAExecutionProvider":
            return FailingCudaSession(real_session(path, sess_options=sess_options, providers=[CPU_PROVIDER]))
        return real_session(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", CPU_PROVIDER])
    monkeypatch.setattr(ort, "InferenceSession", session)
    FailingCudaSession.broken = False
    yield FailingCudaSession
    FailingCudaSession.broken = False


def test_segmenter_moves_to_the_cpu_when_the_gpu_fails_while_running(
    failing_cuda: type[FailingCudaSession], astronaut: np.ndarray
) -> None:
    segmenter = load_segmenter(LANDSCAPE, device="cuda")
    assert segmenter.session.provider_short == "CUDA"
    before = segmenter.predict(astronaut)

    failing_cuda.broken = True
    after = segmenter.predict(astronaut)  # this very frame is computed again on the CPU

    assert segmenter.session.provider == CPU_PROVIDER
    assert f"CUDA failed while running ({CUDA_FAILURE}): using the CPU" in segmenter.session.describe()
    np.testing.assert_allclose(after, before, atol=1e-5)
    np.testing.assert_allclose(segmenter.predict(astronaut), before, atol=1e-5)  # and the next ones


def test_a_cpu_failure_is_raised_not_retried(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    segmenter = load_segmenter(LANDSCAPE, device="cpu")
    assert not segmenter.session.can_fall_back

    def out_of_memory(_tensor: np.ndarray) -> np.ndarray:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(segmenter, "infer", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        segmenter.predict(astronaut)


def read_events(fd: int) -> list[dict[str, Any]]:
    data = b""
    while True:
        try:
            data += os.read(fd, 65536)
        except BlockingIOError:
            break
    return [json.loads(line) for line in data.splitlines()]


def test_worker_announces_the_cpu_when_the_gpu_fails_while_running(
    failing_cuda: type[FailingCudaSession], astronaut: np.ndarray
) -> None:
    """The path the OBS filter uses: the worker's next ``ready`` carries the CPU and the reason."""
    block = SharedBlock.create(CAPTURE)
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        worker = MaskWorker(block, EventStream(write_end))
        worker.configure(Configure(7, LANDSCAPE, device="cuda", threads=1))
        (ready,) = read_events(read_end)
        assert (ready["event"], ready["provider"]) == ("ready", "CUDA"), ready

        failing_cuda.broken = True
        frame = cv2.cvtColor(cv2.resize(astronaut, CAPTURE, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2BGRA)
        block.write_frame(1, frame, time.monotonic_ns())
        worker.process_frame(1)

        moved, done = read_events(read_end)
        assert moved["event"] == "ready" and moved["id"] == 7 and moved["reloaded"] is False, moved
        assert moved["provider"].startswith(f"CPU (CUDA failed while running ({CUDA_FAILURE})"), moved
        assert done["event"] == "done" and done["seq"] == 1 and done["ok"] is True, done  # the frame was not lost
        result = block.read_result()
        assert result is not None and result.seq == 1 and result.mask.shape == (CAPTURE[1], CAPTURE[0])
    finally:
        os.close(read_end)
        os.close(write_end)
        block.close()
