/* Prints the layout of struct obs_source_info from the installed libobs headers, one "name offset size"
 * line per field plus "sizeof N", for tests/obs/test_source_info_layout.py to compare with the ctypes
 * Structure in obs_blur/obs/source_info.py.
 * Build: cc $(pkg-config --cflags libobs) source_info_layout.c   (needs libobs-dev; the project does not)
 */
#include <stddef.h>
#include <stdio.h>
#include <obs-module.h>

#define FIELD(name) \
	printf("%s %zu %zu\n", #name, offsetof(struct obs_source_info, name), \
	       sizeof(((struct obs_source_info *)0)->name))

int main(void)
{
	FIELD(id);
	FIELD(type);
	FIELD(output_flags);
	FIELD(get_name);
	FIELD(create);
	FIELD(destroy);
	FIELD(get_width);
	FIELD(get_height);
	FIELD(get_defaults);
	FIELD(get_properties);
	FIELD(update);
	FIELD(activate);
	FIELD(deactivate);
	FIELD(show);
	FIELD(hide);
	FIELD(video_tick);
	FIELD(video_render);
	FIELD(filter_video);
	FIELD(filter_audio);
	FIELD(enum_active_sources);
	FIELD(save);
	FIELD(load);
	FIELD(mouse_click);
	FIELD(mouse_move);
	FIELD(mouse_wheel);
	FIELD(focus);
	FIELD(key_click);
	FIELD(filter_remove);
	FIELD(type_data);
	FIELD(free_type_data);
	FIELD(audio_render);
	FIELD(enum_all_sources);
	FIELD(transition_start);
	FIELD(transition_stop);
	FIELD(get_defaults2);
	FIELD(get_properties2);
	FIELD(audio_mix);
	FIELD(icon_type);
	FIELD(media_play_pause);
	FIELD(media_restart);
	FIELD(media_stop);
	FIELD(media_next);
	FIELD(media_previous);
	FIELD(media_get_duration);
	FIELD(media_get_time);
	FIELD(media_set_time);
	FIELD(media_get_state);
	FIELD(version);
	FIELD(unversioned_id);
	FIELD(missing_files);
	FIELD(video_get_color_space);
	printf("sizeof %zu\n", sizeof(struct obs_source_info));
	return 0;
}
