"""Test-only OBS script: logs one line when OBS has finished loading (the frontend's FINISHED_LOADING).

From OBS 30 on, obs-websocket answers requests as soon as the scene collection has loaded, while
OBS's UI thread is still finishing its start (more frontend events, the preview display). A request
in that window can block OBS 32's start for good (seen in rapid experiments on Debian's OBS 32.2:
the UI thread waiting on a libobs signal mutex, obs-websocket answering nothing). The harness waits
for this line before it sends any request, as a user's tool would wait for OBS's window. Every
harness collection loads it after background_blur.py; users never do.
"""

from __future__ import annotations

from typing import Any

import obspython as obs  # type: ignore[import-not-found]

FINISHED_LOADING_LINE = "obs-blur tests: OBS finished loading"


def _on_event(event: Any) -> None:
    if event == obs.OBS_FRONTEND_EVENT_FINISHED_LOADING:
        obs.script_log(obs.LOG_INFO, FINISHED_LOADING_LINE)


def script_description() -> str:
    return "obs-blur tests: logs when OBS has finished loading (never for users)."


def script_load(_settings: Any) -> None:
    obs.obs_frontend_add_event_callback(_on_event)
