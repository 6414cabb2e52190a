"""The one exception type that reaches users as a plain sentence instead of a traceback."""


class ObsBlurError(Exception):
    """A failure the user can act on; its message is shown as is (CLI) or in the filter's status.

    Raise it with a sentence that names the thing and says what to do, for example
    ``ObsBlurError("model file models/x.onnx is missing: run `python tools/convert_models.py`")``.
    """
