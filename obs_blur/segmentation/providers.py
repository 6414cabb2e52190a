"""The one place that creates onnxruntime sessions.

It picks an execution provider from what is installed and what the user asked for, falls back
visibly (the reason is kept and shown in `doctor` and in the filter's status line), keeps the CPU
cheap (few threads, no spin-waiting: OBS and the meeting app need the cores too), and reports the
provider that really runs, which is not always the one asked for: onnxruntime silently drops a GPU
provider whose libraries fail to load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from obs_blur.errors import ObsBlurError

DEVICES = ("auto", "gpu", "cpu", "tensorrt", "cuda", "directml", "coreml")
GPU_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
)
CPU_PROVIDER = "CPUExecutionProvider"
_SINGLE = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
SHORT_NAMES = {
    "TensorrtExecutionProvider": "TensorRT",
    "CUDAExecutionProvider": "CUDA",
    "DmlExecutionProvider": "DirectML",
    "CoreMLExecutionProvider": "CoreML",
    CPU_PROVIDER: "CPU",
}


def import_onnxruntime() -> Any:
    """Import onnxruntime (its usage telemetry off) or explain how to get it.

    onnxruntime 1.32 writes a device id under ~/.cache and reports session events to Microsoft unless
    told not to; a background-blur filter has no business doing that.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime

        if hasattr(onnxruntime, "disable_telemetry_events"):
            onnxruntime.disable_telemetry_events()
    except ImportError as exc:
        raise ObsBlurError(
            f"onnxruntime is not importable ({exc}): run `python3 install.py` (for OBS) "
            "or `pip install onnxruntime`"
        ) from None
    return onnxruntime


@dataclass
class ProviderChoice:
    """What was asked, what will be tried in order, and why anything asked for was dropped."""

    device: str
    candidates: list[str]
    notes: list[str] = field(default_factory=list)


def choose_providers(device: str, available: list[str]) -> ProviderChoice:
    """Order the providers to try for ``device`` given onnxruntime's ``available`` list."""
    if device not in DEVICES:
        raise ObsBlurError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return ProviderChoice(device, [CPU_PROVIDER], ["CPU requested"])
    wanted = [_SINGLE[device]] if device in _SINGLE else list(GPU_PROVIDERS)
    present = [p for p in wanted if p in available]
    notes = []
    if not present:
        notes.append(_why_no_gpu(device, available))
    return ProviderChoice(device, [*present, CPU_PROVIDER], notes)


def _why_no_gpu(device: str, available: list[str]) -> str:
    if device == "auto" and all(p not in available for p in GPU_PROVIDERS):
        return "no GPU provider in this onnxruntime build (CPU-only wheel): using the CPU"
    asked = SHORT_NAMES.get(_SINGLE.get(device, ""), "GPU")
    # Only providers a user can choose: onnxruntime also lists e.g. its Azure (remote) provider.
    offered = [SHORT_NAMES[p] for p in available if p in SHORT_NAMES] or ["CPU"]
    return (
        f"{asked} was requested but this onnxruntime build only offers {', '.join(offered)}: install the "
        "matching onnxruntime flavour with `python3 install.py --device ...`; using the CPU"
    )


def _provider_options(provider: str) -> dict[str, str]:
    if provider == "TensorrtExecutionProvider":
        from obs_blur.paths import tensorrt_cache_dir

        cache = tensorrt_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        return {
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": "True",
            "trt_timing_cache_path": str(cache),
            "trt_fp16_enable": "True",
        }
    return {}


def session_options(ort: Any, threads: int) -> Any:
    """Low-CPU options: ``threads`` intra-op threads, one inter-op thread, no spin-waiting."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


@dataclass
class InferenceSession:
    """An onnxruntime session plus the honest story of how its provider was chosen."""

    session: Any
    provider: str
    requested: str
    notes: list[str]
    model: Optional[Path] = None  # the verified file, to load it again on the CPU
    threads: int = 1

    @property
    def provider_short(self) -> str:
        return SHORT_NAMES.get(self.provider, self.provider)

    @property
    def can_fall_back(self) -> bool:
        """A GPU session whose model can be loaded again on the CPU."""
        return self.provider != CPU_PROVIDER and self.model is not None

    def on_cpu_after(self, failure: BaseException) -> InferenceSession:
        """The same model on the CPU, after this GPU session failed while running.

        A GPU can fail long after its session started (driver reset, out of memory, a kernel that
        faults); the video must go on, so the model moves to the CPU and the notes say why.
        """
        ort = import_onnxruntime()
        options = session_options(ort, self.threads)
        try:
            session = ort.InferenceSession(str(self.model), sess_options=options, providers=[CPU_PROVIDER])
        except Exception as exc:  # onnxruntime raises several unrelated types here
            raise ObsBlurError(f"onnxruntime cannot load {self.model} on the CPU: {_first_line(exc)}") from None
        note = f"{self.provider_short} failed while running ({_first_line(failure)}): using the CPU"
        return InferenceSession(session, CPU_PROVIDER, self.requested, [*self.notes, note], self.model, self.threads)

    def describe(self) -> str:
        """One line for logs and the status line, e.g. ``CPU (no GPU provider in this build…)``."""
        why = "; ".join(self.notes)
        return f"{self.provider_short}" + (f" ({why})" if why else "")


def default_threads() -> int:
    """One thread: the models are small, and OBS plus the meeting app need the other cores."""
    env = os.environ.get("OBS_BLUR_THREADS")
    return int(env) if env and env.isdigit() else 1


def create_session(model: Path, device: str = "auto", threads: Optional[int] = None) -> InferenceSession:
    """Create a session for ``model`` on the best allowed provider, falling back to the CPU visibly."""
    ort = import_onnxruntime()
    choice = choose_providers(device, list(ort.get_available_providers()))
    threads = threads if threads else default_threads()
    options = session_options(ort, threads)
    notes = list(choice.notes)
    _preload_cuda_libraries(ort, choice, notes)
    for provider in choice.candidates:
        providers = [(provider, _provider_options(provider))]
        if provider != CPU_PROVIDER:
            providers.append((CPU_PROVIDER, {}))
        try:
            session = ort.InferenceSession(str(model), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises several unrelated types here
            if provider == CPU_PROVIDER:
                raise ObsBlurError(f"onnxruntime cannot load {model.name}: {_first_line(exc)}") from None
            notes.append(f"{SHORT_NAMES[provider]} failed at session creation ({_first_line(exc)})")
            continue
        active = session.get_providers()[0]
        if active != provider:
            notes.append(f"{SHORT_NAMES[provider]} could not start (its CUDA/cuDNN libraries missing?)")
            continue
        return InferenceSession(session, active, device, notes, model, threads)
    raise ObsBlurError(f"no execution provider could run {model.name}")  # unreachable: CPU always last


def _preload_cuda_libraries(ort: Any, choice: ProviderChoice, notes: list[str]) -> None:
    """Load the CUDA/cuDNN libraries that came as pip wheels (nvidia-*), before a CUDA session.

    onnxruntime-gpu looks for them on the system library path only; ``preload_dlls`` (1.21+) finds the
    pip-installed ones, which is what install.py provides.
    """
    wants_cuda = any(p in ("CUDAExecutionProvider", "TensorrtExecutionProvider") for p in choice.candidates)
    if not wants_cuda or not hasattr(ort, "preload_dlls"):
        return
    try:
        ort.preload_dlls()
    except Exception as exc:  # a missing library is reported by the session attempt that follows
        notes.append(f"CUDA libraries could not be preloaded ({_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
