"""Person segmentation: the models, how each family feeds its model, and where the model files come from.

    ``manifest``     models/manifest.json read into ModelSpecs; the model list a settings dialog offers
    ``model_files``  shipped model files and the sha256 check every model file passes before it is read
    ``download``     a model fetched from a pinned https source, verified, fixed and cached on first use
    ``providers``    onnxruntime sessions: which execution provider runs, and why (GPU, else the CPU)
    ``capture``      each family's capture size and GPU resize: what the OBS filter needs, standard library only
    ``base``         ``Segmenter``: what every family says (capture size, resize, post-processing,
                     GPU downsample, model source) and the per-frame path they share
    ``mediapipe``    the MediaPipe selfie family (shipped models)
    ``bodypix``      the BodyPix family (downloaded and fixed for onnxruntime)
    ``families``     family name -> class, and ``load_segmenter`` / ``model_path``

This file imports nothing, and ``manifest`` and ``capture`` only the standard library: the OBS filter
reads them inside OBS's process, where OpenCV and onnxruntime are never loaded (numpy and OpenCV may
even be missing there, and the filter must still load and say so).
Adding a family: docs/MODELS_AND_MODES.md.
"""
