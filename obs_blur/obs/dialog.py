"""The filter's properties dialog: what OBS shows under the filter in its Filters window.

The mode list comes first and its modified callback shows only the chosen mode's settings; the
settings every mode shares sit in an "Advanced" group, where the lip-sync rows show only while the
video is delayed to match the mask; the Status and Video delay rows read what
``settings_writer.publish_readouts`` copied into the settings. libobs builds the dialog and runs the
callback on the UI thread. Light (no numpy/OpenCV), like the filter that calls it.

Optional libobs and registry functions are looked up with ``getattr``: a libobs without groups or
modified callbacks, or a registry an older checkout loaded at OBS's start, shows every setting.
"""

from __future__ import annotations

from typing import Optional

from obs_blur.model_choice import AUTO_HELP, model_label
from obs_blur.obs import lip_sync, source_info
from obs_blur.obs.data import ObsData, Properties
from obs_blur.obs.filter_settings import (
    ALIGN_VIDEO,
    BG_COLOR,
    BG_IMAGE,
    BLUR_STRENGTH,
    BLUR_STRENGTH_MAX,
    BLUR_STRENGTH_MIN,
    DEVICE,
    DEVICES,
    EDGE_SOFTNESS,
    LENS_DEPTH,
    MODE,
    MODEL,
    PERCENT_MAX,
    PERCENT_MIN,
    SMOOTHING,
    mode_choices,
    mode_settings_shown,
)
from obs_blur.segmentation.manifest import ModelChoices

#: The status row's key in the settings (an info text reads its value from there).
STATUS = "status"
VIRTUALCAM_BUTTON = "virtualcam"
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tga);;All files (*.*)"
#: The dialog's group for the settings most people never change.
ADVANCED_GROUP = "advanced"


#: The rows that only apply while the video is delayed to match the mask.
LIP_SYNC_ROWS = (lip_sync.VIDEO_DELAY, lip_sync.AUDIO_SOURCE, lip_sync.APPLY_BUTTON)


def build_properties(kind_id: str, models: ModelChoices) -> int:
    """The whole dialog of the filter type ``kind_id``; returns the ``obs_properties_t *`` libobs takes over."""
    properties = Properties()
    _add_main_settings(properties, kind_id, models)
    button_callback = source_info.button_callback(kind_id)
    _add_advanced_settings(properties.add_group(ADVANCED_GROUP, "Advanced"), kind_id, button_callback)
    if button_callback:
        properties.add_button(VIRTUALCAM_BUTTON, "Start/Stop Virtual Camera", button_callback)
    properties.add_info_text(STATUS, "Status")
    return properties.pointer


def show_applicable_settings(properties: int, property_name: str, settings: int) -> bool:
    """The mode or the alignment changed in the dialog (or libobs fills new properties): show what applies.

    The chosen mode's settings only, and the lip-sync rows only while the video is delayed. libobs
    calls this on the UI thread with the dialog's settings, which it only reads; True makes the
    dialog redraw with the new set.
    """
    data = ObsData(settings)
    if property_name == MODE:
        for key, shown in mode_settings_shown(data.get_string(MODE)).items():
            Properties.set_visible(properties, key, shown)
        return True
    if property_name == ALIGN_VIDEO:
        aligned = bool(data.get_stored(ALIGN_VIDEO))
        for key in LIP_SYNC_ROWS:
            Properties.set_visible(properties, key, aligned)
        return True
    return False

MODEL_DESCRIPTION = f"Automatic: {AUTO_HELP}. The others are the models in models/manifest.json."


def _add_main_settings(properties: Properties, kind_id: str, models: ModelChoices) -> None:
    """The mode, the model, and the settings of one mode each (the mode list shows and hides those)."""
    mode_list = properties.add_string_list(MODE, "Background", mode_choices())
    Properties.set_modified_callback(mode_list, _modified_callback(kind_id))
    model_list = properties.add_string_list(MODEL, "Segmentation model", ((n, model_label(n)) for n in models.names))
    Properties.set_long_description(model_list, MODEL_DESCRIPTION)
    properties.add_int_slider(BLUR_STRENGTH, "Blur strength", BLUR_STRENGTH_MIN, BLUR_STRENGTH_MAX)
    depth = properties.add_bool(LENS_DEPTH, "Blur more the farther from you")
    Properties.set_long_description(depth, "The lens blur is lighter next to your outline, as a lens focused on you")
    properties.add_color(BG_COLOR, "Background colour")
    properties.add_file_path(BG_IMAGE, "Background image", IMAGE_FILES)


def _modified_callback(kind_id: str) -> Optional[int]:
    """The modified callback that shows what applies (None with a registry that has none)."""
    modified_callback = getattr(source_info, "modified_callback", None)
    return modified_callback(kind_id) if modified_callback is not None else None


def _add_advanced_settings(group: Properties, kind_id: str, button_callback: Optional[int]) -> None:
    """The settings that apply to every mode and rarely need changing, the lip-sync rows among them."""
    softness = group.add_int_slider(EDGE_SOFTNESS, "Edge softness", PERCENT_MIN, PERCENT_MAX)
    Properties.set_long_description(softness, "Width of the soft band around the person's outline")
    smoothing = group.add_int_slider(SMOOTHING, "Temporal smoothing", PERCENT_MIN, PERCENT_MAX)
    Properties.set_long_description(smoothing, "Less flicker at the outline; real motion passes at once")
    align = group.add_bool(ALIGN_VIDEO, "Delay the video to match the mask")
    Properties.set_long_description(align, "Shows the frame each mask was computed from (a few frames late)")
    Properties.set_modified_callback(align, _modified_callback(kind_id))
    _add_lip_sync(group, button_callback)
    group.add_string_list(DEVICE, "Run the model on", DEVICES.items())


def _add_lip_sync(group: Properties, button_callback: Optional[int]) -> None:
    """How late the delayed video runs, and the button that delays an audio source by as much."""
    group.add_info_text(lip_sync.VIDEO_DELAY, "Video delay")
    audio_choices = [("", "(none)"), *((name, name) for name in lip_sync.audio_source_names())]
    audio = group.add_string_list(lip_sync.AUDIO_SOURCE, "Audio to delay with it", audio_choices)
    Properties.set_long_description(audio, "The camera's own audio or your microphone, so that lips and voice match")
    if button_callback:
        button = group.add_button(lip_sync.APPLY_BUTTON, "Delay this audio by the video delay", button_callback)
        Properties.set_long_description(button, "Adds the delay to its Sync Offset; turning the delay off undoes it")
