"""Allows ``python -m obs_blur``."""

from obs_blur.cli import main

raise SystemExit(main())
