"""``python -m obs_blur.mask_worker --shm NAME [--log-limit BYTES]``: the mask worker process.

The client (``obs_blur.worker.client``) starts it under this name, which process lists show; its
code is ``obs_blur.worker.server``.

The process ends with ``os._exit`` once ``main`` has returned and everything it wrote is flushed:
interpreter finalization would find the stdin reader (a daemon thread blocked in a read, holding
the stream's lock) and Python 3.14 aborts then ("could not acquire lock for <stdin> at interpreter
shutdown"). Nothing is left to finalize: the shared block is closed by ``main``, and onnxruntime's
teardown is time the parent would wait for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from obs_blur.worker.server import main


def exit_now(code: int) -> None:
    """Flush the log and both standard streams, then end the process without finalization."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a parent gone means a broken pipe: nothing to flush to
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
