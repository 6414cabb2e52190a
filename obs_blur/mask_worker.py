"""``python -m obs_blur.mask_worker --shm NAME [--log-limit BYTES]``: the mask worker process.

The client (``obs_blur.worker.client``) starts it under this name, which process lists show; its
code is ``obs_blur.worker.server``.
"""

from __future__ import annotations

import sys

from obs_blur.worker.server import main

if __name__ == "__main__":
    sys.exit(main())
