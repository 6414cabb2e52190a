"""What differs per operating system: where OBS is, its version, the Python it loads, whether it runs.

One module per kind of OBS install (linux, flatpak, windows, macos) and configured_python, the
Python Settings that OBS on Windows and macOS load their Python from. installer.detect asks the
module of the OS at hand.
"""
