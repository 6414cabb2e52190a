"""Every sentence the filter shows about what it does: the dialog's status row, the stats file's
status and the "video passes through unchanged" log lines.

They are built here so that one file holds what a user reads; the filter and the frame engine
decide *which* sentence applies. The worker client's own states (loading, crashed, restarting) come
from ``obs_blur/worker/client.py``. Standard library and ``obs_blur.modes`` only: the
filter loads this module without numpy or OpenCV, to explain exactly their absence.
"""

from __future__ import annotations

from typing import Optional, Protocol

from obs_blur.modes import Setting, mode_named

#: The status until the dialog first publishes one (the default of the status row).
BEFORE_FIRST_STATUS = "starting: the video passes through until the first mask"
#: The status while the source has no frame (size 0x0): nothing to draw, nothing sent to the worker.
NO_VIDEO = "Waiting for video: the source shows no frame (not started yet, ended or stopped)"
#: The status while no scene or view shows the source: libobs draws neither it nor its filters.
HIDDEN = "Hidden: the source is not shown in any scene or view, so nothing is drawn and no mask is made"
#: The status's start while a media source is paused: its last frame stays on screen, filtered.
PAUSED = "Paused: the mask of the paused frame stays in use"
#: The status's speed part while the picture stays the same (a photo, a frozen camera).
STILL_PICTURE = "still picture: not segmented again until it changes"
#: The status's start while masks are drawn.
MASK_IN_USE = "Mask in use"

#: Import names → the names people know the packages by (OpenCV is imported as cv2).
_PACKAGE_OF_MODULE = {"cv2": "OpenCV", "numpy": "numpy", "onnxruntime": "onnxruntime"}


class WorkerFigures(Protocol):
    """What the status reads from the mask link's report (``mask_link.WorkerReport``)."""

    model: str
    provider: str
    ms_per_mask: Optional[float]
    masks_per_s: float


# --- the dialog's status row ------------------------------------------------------------------------


def passes_through(problem: str) -> str:
    """The status while frames are drawn unchanged, and why."""
    return f"Video passes through unchanged: {problem}"


def starting(size: tuple[int, int]) -> str:
    """The status between the first frame and the frame engine's creation."""
    width, height = size
    return f"Starting ({width}x{height})"


def mask_in_use(
    paused: bool,
    still: bool,
    report: WorkerFigures,
    mask_age_frames: Optional[int],
    mode: str,
    model_reason: Optional[str] = None,
    crop_share: float = 1.0,
) -> str:
    """Which model runs where, how fast, and how old the drawn mask is; ``mode`` from ``mode_text``.

    ``paused``: a paused media source; ``still``: the picture has not changed since its mask settled,
    so the worker idles (its speed figures would be stale: the status says so instead);
    ``model_reason``: why the ``auto`` model runs this model; ``crop_share`` below 1: the model looks
    at that share of the frame, a crop around the person (``obs_blur/region_of_interest.py``).
    """
    if still:
        speed = STILL_PICTURE
    elif report.ms_per_mask is not None:
        speed = f"{report.ms_per_mask:.1f} ms per mask, {report.masks_per_s:.0f} masks/s"
    else:
        speed = "measuring speed"
    start = PAUSED if paused else MASK_IN_USE
    notes = [model_reason] if model_reason else []
    if crop_share < 1.0:
        notes.append(f"crop around the person, {100 * crop_share:.0f} % of the frame")
    model = f"{report.model} ({'; '.join(notes)})" if notes else report.model
    return f"{start}: {model} on {report.provider}; {speed}; mask age {mask_age_frames} frames ({mode})"


def mode_text(mode: str, blur_strength: int, lens_depth: bool = False) -> str:
    """What is drawn, e.g. "blur mode, strength 50": the status shows the settings really applied."""
    applies = mode_named(mode).settings
    depth = ", more blur farther from the person" if lens_depth and Setting.LENS_DEPTH in applies else ""
    if Setting.BLUR_STRENGTH in applies:
        return f"{mode} mode, strength {blur_strength}{depth}"
    return f"{mode} mode"


def with_problem_and_note(state: str, models_problem: Optional[str], note: str) -> str:
    """The whole status line: the state, a problem with the model list, an answer to a button click."""
    problem = f"; {models_problem}" if models_problem else ""
    answer = f". {note}" if note else ""
    return f"{state}{problem}{answer}"


# --- why frames pass through (the part after "Video passes through unchanged: ") --------------------


def internal_error(error: BaseException) -> str:
    """A bug in the frame path: the callback guard logs the traceback, the status names the error."""
    return f"internal error: {type(error).__name__}: {error}"


def missing_dependency(error: ImportError) -> str:
    """Why numpy/OpenCV/onnxruntime did not import: a folder the script refused, or not installed."""
    from obs_blur import paths

    folder = paths.private_dependency_folder()
    unsafe = paths.unsafe_code_folder(folder) if folder.is_dir() else None
    if unsafe is not None:
        return f"the dependency folder {folder} is not used because {unsafe}"
    package = _PACKAGE_OF_MODULE.get((error.name or "").split(".")[0], "a dependency")
    return f"{package} is missing ({error}): run install.py"


def waiting_for_first_mask(worker_status: str) -> str:
    """A healthy worker that has not delivered a mask yet."""
    return f"waiting for the first mask ({worker_status})"


def no_new_mask(age_s: float, worker_status: str) -> str:
    """The newest mask is too old to draw."""
    return f"no new mask for {age_s:.0f} s ({worker_status})"


# --- the mask worker, as the filter's link sees it --------------------------------------------------

#: The worker's state while the script is unloading or unloaded.
WORKER_STOPPED = "mask worker stopped"
#: The worker's state before the filter's first frame.
WORKER_NOT_STARTED = "mask worker starts with the first frame"


def cannot_start_worker(reason: str) -> str:
    """A worker start that raised (logged once per distinct reason, so without the retry delay)."""
    return f"cannot start the mask worker: {reason}"


def retrying(problem: str, delay_s: float) -> str:
    """``problem``, with when the next start is tried (shown in the status, not logged)."""
    return f"{problem}; retrying in {delay_s:g} s"


# --- the OBS log --------------------------------------------------------------------------------------


def passes_through_log(filter_name: str, problem: str) -> str:
    """The warning logged once when a filter starts drawing frames unchanged."""
    return f"filter '{filter_name}': video passes through unchanged: {problem}"
