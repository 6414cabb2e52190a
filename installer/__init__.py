"""obs-blur's installer: dependencies for the Python that OBS embeds, verified. ``install.py`` runs it.

OBS runs scripts in its own embedded interpreter, which ignores virtual environments and usually is
not the ``python3`` on PATH. The installer finds OBS and that interpreter (Linux: the library OBS
links; Windows and macOS: the Python folder set in OBS's Python Settings, searched as that OBS
version searches it), picks the onnxruntime flavour for the machine's GPU and the pinned wheels that
install on its OS version, installs them into a private folder that
``obs_blur/background_blur.py`` puts on ``sys.path``, and proves in OBS's interpreter that the
default model loads, naming the execution provider that will really run.

Usage:
  python3 install.py [--device auto|cpu|cuda|directml|coreml] [--wheelhouse DIR] [--add-to-obs]
  python3 install.py --check                 diagnose only; changes nothing
  python3 install.py --uninstall [--purge]   remove the private folder (and downloads and caches)

The private folder is ``<user data>/obs-blur/pydeps/cp3XY`` (Linux ``$XDG_DATA_HOME``, default
``~/.local/share``; Windows ``%LOCALAPPDATA%``; macOS ``~/Library/Application Support``);
``OBS_BLUR_PYDEPS`` overrides it here and in the OBS script alike.

An install never breaks a working one: the wheels go into a fresh folder beside the private folder,
are verified there, and only then replace it by renames. A record file in the folder says what is
installed, and for which Python, platform and CPU architecture, so a second run with everything in
place changes nothing and one for another architecture (Rosetta) replaces it.

Standard library only and Python >= 3.9, because it runs before anything is installed.

The modules, from the command line down:

  cli               the arguments, and which of the three runs below they ask for
  installation      the default run: install (or find in place), verify, --add-to-obs, next steps
  check             --check: the diagnosis, changing nothing
  uninstall         --uninstall [--purge]
  pip_install       pip for OBS's Python, into a staging folder swapped into place by renames
  verify            importing the wheels and loading the default model in OBS's Python
  record            the file in the private folder that says what is installed there
  scene_collection  OBS's current scene collection, and adding the script to it
  detect            this machine's OBS, whatever the OS: where, which version, which Python, running?
  platforms/        what differs per OS: linux, flatpak, windows, macos, and configured_python
                    (the Python set in OBS's Python Settings on Windows and macOS)
  gpu               the NVIDIA driver, and the onnxruntime flavour for --device
  pins              the pinned wheels of each flavour, Python and platform
  obs_versions      an OBS version: the Pythons it loads, read from OBS's files
  obs_python        OBS's interpreter as the installer runs it
  obs_config        OBS's config folder and its ini files
  repo              this clone: its root, the OBS script, and the shared obs_blur.paths
  common            the error users act on, running a command, versions as people write them

Modules call each other's functions through the module (``detect.find_obs_python(...)``), so a
reader sees where a function lives and a test replaces it in one place; classes and constants are
imported by name.
"""
