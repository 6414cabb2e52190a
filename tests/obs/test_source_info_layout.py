"""``struct obs_source_info`` in ctypes matches libobs's C layout, field by field.

A wrong offset would make libobs call a callback through the wrong slot (or read a flag from a
pointer) and crash OBS, so the layout is checked against the OBS 29.0.2 headers as recorded from
source_info_layout.c, and against the headers of the OBS under test: the host's, or the chroot's
(tools/run_tests.sh installs libobs-dev in both; the project itself never needs it).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import require_obs
from .harness import in_obs_root

# `name: (offset, size)` printed by source_info_layout.c against libobs-dev 29.0.2 (x86-64).
RECORDED_OBS_29_LAYOUT = {
    "id": (0, 8), "type": (8, 4), "output_flags": (12, 4), "get_name": (16, 8), "create": (24, 8),
    "destroy": (32, 8), "get_width": (40, 8), "get_height": (48, 8), "get_defaults": (56, 8),
    "get_properties": (64, 8), "update": (72, 8), "activate": (80, 8), "deactivate": (88, 8), "show": (96, 8),
    "hide": (104, 8), "video_tick": (112, 8), "video_render": (120, 8), "filter_video": (128, 8),
    "filter_audio": (136, 8), "enum_active_sources": (144, 8), "save": (152, 8), "load": (160, 8),
    "mouse_click": (168, 8), "mouse_move": (176, 8), "mouse_wheel": (184, 8), "focus": (192, 8),
    "key_click": (200, 8), "filter_remove": (208, 8), "type_data": (216, 8), "free_type_data": (224, 8),
    "audio_render": (232, 8), "enum_all_sources": (240, 8), "transition_start": (248, 8),
    "transition_stop": (256, 8), "get_defaults2": (264, 8), "get_properties2": (272, 8), "audio_mix": (280, 8),
    "icon_type": (288, 4), "media_play_pause": (296, 8), "media_restart": (304, 8), "media_stop": (312, 8),
    "media_next": (320, 8), "media_previous": (328, 8), "media_get_duration": (336, 8), "media_get_time": (344, 8),
    "media_set_time": (352, 8), "media_get_state": (360, 8), "version": (368, 4), "unversioned_id": (376, 8),
    "missing_files": (384, 8), "video_get_color_space": (392, 8),
}  # fmt: skip
RECORDED_OBS_29_SIZE = 400
HEADER = "/usr/include/obs/obs-module.h"


def ctypes_layout() -> tuple[dict[str, tuple[int, int]], int]:
    require_obs()  # importing source_info loads libobs
    from obs_blur.obs.source_info import OBS_29_SOURCE_INFO_SIZE, ObsSourceInfo

    assert ctypes.sizeof(ObsSourceInfo) == OBS_29_SOURCE_INFO_SIZE
    fields = {
        name: (getattr(ObsSourceInfo, name).offset, getattr(ObsSourceInfo, name).size)
        for name, _ in ObsSourceInfo._fields_
    }
    return fields, ctypes.sizeof(ObsSourceInfo)


def header_layout(header: Path, build_dir: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """Compile and run source_info_layout.c against the libobs headers beside ``header``."""
    program = build_dir / "source_info_layout"
    source = Path(__file__).with_name("source_info_layout.c")
    subprocess.run(["cc", f"-I{header.parent}", str(source), "-o", str(program)], check=True)
    output = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout
    fields: dict[str, tuple[int, int]] = {}
    size = 0
    for line in output.splitlines():
        name, *numbers = line.split()
        if name == "sizeof":
            size = int(numbers[0])
        else:
            fields[name] = (int(numbers[0]), int(numbers[1]))
    return fields, size


def test_ctypes_layout_matches_obs_29_headers() -> None:
    fields, size = ctypes_layout()
    assert size == RECORDED_OBS_29_SIZE
    assert fields == RECORDED_OBS_29_LAYOUT


def test_ctypes_layout_matches_the_headers_of_the_obs_under_test(tmp_path: Path) -> None:
    """Every field we declare sits where this OBS release's own headers put it."""
    fields, size = ctypes_layout()
    header = in_obs_root(HEADER)
    if not header.is_file() or shutil.which("cc") is None:
        pytest.fail(f"{header} or a C compiler is missing: install libobs-dev and gcc "
                    "(tools/run_tests.sh does as root)", pytrace=False)
    from_headers, header_size = header_layout(header, tmp_path)
    assert header_size >= size, "libobs refuses a struct larger than its own"
    assert {name: from_headers[name] for name in fields} == fields
