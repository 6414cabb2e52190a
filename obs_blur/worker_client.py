"""Names that tests/test_security.py and tests/obs/test_faults.py import from here.

The mask worker's code is the package ``obs_blur.worker``; import from its modules.
"""

from __future__ import annotations

from obs_blur.worker.client import DEFAULT_HANG_TIMEOUT_S, FIRST_BACKOFF_S
from obs_blur.worker.interpreter import worker_environment

__all__ = ["DEFAULT_HANG_TIMEOUT_S", "FIRST_BACKOFF_S", "worker_environment"]
