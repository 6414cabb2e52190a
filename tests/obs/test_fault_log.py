"""The rule behind "one log line per fault": what MaskLink writes to OBS's log as its worker fails and recovers.

A stand-in for the worker client plays the sequences (a crash loop, a crash after healthy masks, a
GPU replaced by the CPU) that take minutes or a GPU to produce for real; tests/obs/test_faults.py
checks the same lines in the real OBS. libobs is loaded for its log function, not started.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest

from obs_blur.obs.filter_settings import FilterSettings

from .conftest import require_obs

CRASH = "worker crashed (exit code -11)"
CPU = "CPU (CUDA failed while running (CUDA failure 700): using the CPU)"


class FakeClient:
    """The MaskWorkerClient attributes MaskLink reads; a test sets them as the real client would."""

    def __init__(self) -> None:
        self.state, self.status, self.fault = "loading", "loading model…", ""
        self.model, self.provider, self.pid = "mediapipe-landscape", "CUDA", 1234
        self.stats: dict[str, float] = {}
        self.accepts_frames = False
        self.result: Optional[Any] = None
        self.in_flight_s: Optional[float] = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def configure(self, *_args: Any) -> None:
        pass

    def poll(self) -> None:
        pass

    def latest_result(self) -> Optional[Any]:
        result, self.result = self.result, None
        return result

    def crash(self, retry_s: float) -> None:
        self.state, self.fault, self.status = "restarting", CRASH, f"{CRASH}; restarting in {retry_s:g} s"

    def restart(self) -> None:
        self.state, self.status = "loading", "loading model…"

    def become_ready(self, provider: str = "CUDA") -> None:
        self.state, self.provider, self.status = "ready", provider, f"ready: {provider}"


class Result:
    seq, submitted_ns, finished_ns = 1, 0, 2_000_000
    coefficients = None


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    require_obs()
    from obs_blur.obs import libobs

    logged: list[str] = []
    monkeypatch.setattr(libobs, "log", lambda _level, message: logged.append(message))
    return logged


@pytest.fixture
def link_and_client(lines: list[str]) -> tuple[Any, FakeClient]:
    from obs_blur.obs.mask_link import MaskLink

    link, client = MaskLink(lambda: "Blur"), FakeClient()
    link._client = client  # the link would start a real worker otherwise
    return link, client


SETTINGS = FilterSettings("blur", "mediapipe-landscape", 50)


def test_a_crash_loop_is_logged_once(link_and_client: tuple[Any, FakeClient], lines: list[str]) -> None:
    link, client = link_and_client
    for retry_s in (0.5, 1, 2, 4, 8):  # every replacement dies before its first mask
        client.crash(retry_s)
        link.tick(SETTINGS)
        client.restart()
        link.tick(SETTINGS)
    client.become_ready()
    link.tick(SETTINGS)

    assert lines == [
        f"filter 'Blur': video passes through unchanged: {CRASH}; restarting in 0.5 s",
        "filter 'Blur': model mediapipe-landscape ready on CUDA",
    ]


def test_a_worker_that_loads_then_crashes_again_and_again_stays_bounded(
    link_and_client: tuple[Any, FakeClient], lines: list[str]
) -> None:
    link, client = link_and_client
    for retry_s in (0.5, 1, 2, 4, 8, 16, 30, 30):  # ready, then dead before its first mask
        client.become_ready()
        link.tick(SETTINGS)
        client.crash(retry_s)
        link.tick(SETTINGS)

    assert len(lines) == 3, lines  # ready, crashed, ready again: then the same fault is no news


def test_the_same_crash_after_healthy_masks_is_news(link_and_client: tuple[Any, FakeClient], lines: list[str]) -> None:
    link, client = link_and_client
    client.become_ready()
    link.tick(SETTINGS)
    client.crash(0.5)
    link.tick(SETTINGS)
    client.become_ready()
    link.tick(SETTINGS)
    client.result = Result()
    link.take(lambda _in_flight_s, _latency_s: 0.0)  # a mask arrived: the worker was healthy again
    client.crash(0.5)
    link.tick(SETTINGS)

    assert [line for line in lines if CRASH in line] == [
        f"filter 'Blur': video passes through unchanged: {CRASH}; restarting in 0.5 s"
    ] * 2


def test_a_provider_change_is_logged_once(link_and_client: tuple[Any, FakeClient], lines: list[str]) -> None:
    link, client = link_and_client
    client.become_ready("CUDA")
    link.tick(SETTINGS)
    client.become_ready(CPU)  # the worker's second ready: the GPU failed while running
    link.tick(SETTINGS)
    link.tick(SETTINGS)

    assert lines == [
        "filter 'Blur': model mediapipe-landscape ready on CUDA",
        f"filter 'Blur': model mediapipe-landscape ready on {CPU}",
    ]
