"""The OBS layer: the only part of obs-blur that talks to libobs.

OBS's ``obspython`` module cannot register sources or filters ("Script Sources (Lua Only)") and its
SWIG wrappers cannot pass the pixel buffers a filter needs, so this package calls libobs directly
through ctypes: ``libobs`` binds the C functions, ``source_info`` registers a filter type with
``obs_register_source_s``, and ``filter`` implements the Background Blur filter on top of them.
Everything else in ``obs_blur`` stays free of OBS so it can be tested and used without it.
"""
