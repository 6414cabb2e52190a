"""The stats file contract (obs_blur/obs/stats_file.py): content, keys for duplicate names, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from obs_blur.obs.stats_file import (
    MAX_KEPT_RENDER_TIMES,
    RenderStats,
    collect,
    stats_path,
    unique_key,
    write_atomically,
)


class FakeFilter:
    def __init__(self, name: str, source: str) -> None:
        self.name, self.source = name, source

    def stats_entry(self) -> tuple[str, dict[str, Any]]:
        return self.name, {"source": self.source, "render_ms": [1.5]}


def test_render_stats_drain_times_and_keep_counts() -> None:
    stats = RenderStats()
    stats.add(2.0, passed_through=True)
    stats.add(3.0, passed_through=False, waited_ms=1.5)
    assert stats.take() == ([2.0, 3.0], [0.0, 1.5])
    assert stats.take() == ([], [])
    assert (stats.frames, stats.passthrough_frames) == (2, 1)


def test_render_times_stay_bounded_when_nobody_takes_them() -> None:
    """Without a stats file (every user's OBS) nothing drains the times: a long stream must not grow them."""
    stats = RenderStats()
    for frame in range(3 * MAX_KEPT_RENDER_TIMES):
        stats.add(float(frame), passed_through=False)
    taken, _waits = stats.take()
    assert taken == [float(frame) for frame in range(2 * MAX_KEPT_RENDER_TIMES, 3 * MAX_KEPT_RENDER_TIMES)]
    assert stats.frames == 3 * MAX_KEPT_RENDER_TIMES


def test_duplicate_filter_names_are_told_apart_by_source() -> None:
    filters = [FakeFilter("Blur", "Camera"), FakeFilter("Blur", "Screen"), object(), FakeFilter("Blur", "Screen")]
    content = collect(filters)
    assert list(content["filters"]) == ["Blur", "Blur @ Screen", "Blur @ Screen (2)"]
    assert isinstance(content["time"], float)
    assert unique_key("Other", "Camera", content["filters"]) == "Other"


def test_write_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    write_atomically(path, {"time": 1.0, "filters": {}})
    write_atomically(path, {"time": 2.0, "filters": {}})
    assert json.loads(path.read_text()) == {"time": 2.0, "filters": {}}
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]


def test_nothing_is_written_without_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBS_BLUR_STATS", raising=False)
    assert stats_path() is None
    monkeypatch.setenv("OBS_BLUR_STATS", str(tmp_path / "s.json"))
    assert stats_path() == tmp_path / "s.json"
