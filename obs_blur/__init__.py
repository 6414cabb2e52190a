"""obs-blur: free background blur (or replacement) for video calls, as an OBS Studio filter.

The package is split in two on purpose:

* the **core** (the modules directly in ``obs_blur`` and the packages ``obs_blur.segmentation`` and
  ``obs_blur.worker``) needs only numpy, OpenCV and onnxruntime and never imports OBS, so it can be
  tested, benchmarked and used from the command line on files;
* the **OBS layer** (``obs_blur.obs`` and the script file ``background_blur.py``) only moves pixels
  and settings between OBS and that core.
"""

__version__ = "0.1.0"
