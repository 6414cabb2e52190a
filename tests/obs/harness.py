"""Run the real OBS Studio headless (Xvfb + Mesa llvmpipe) with obs-blur loaded, and drive it over obs-websocket.

Facts this relies on (measured with Debian's OBS 29.0.2 unless a version is named):

* OBS reads everything from ``$XDG_CONFIG_HOME/obs-studio``, so each run gets its own config folder,
  written here from templates: global.ini (websocket on, random password, no first-run wizard, no
  tray), a profile with the wanted canvas, and a scene collection whose ``modules.scripts-tool``
  entry loads ``obs_blur/background_blur.py`` before the collection's sources are created.
* OBS 29's websocket server starts after the collection and scripts are loaded; from OBS 30 on it
  accepts clients earlier and answers code 207 ("OBS is not ready") until loading has finished. A
  request that succeeds therefore means the script has run, on every version.
* ``OBS_BLUR_OBS_ROOT`` names a Debian chroot (tools/obs_chroot.sh) whose OBS runs instead of the
  host's: the same tests then drive another OBS release and its Python.
* OBS 29 has no SIGTERM handler and obs-websocket 5 has no quit request. The only clean stop is
  WM_DELETE_WINDOW on the main window (as clicking its close button); SIGTERM skips the shutdown
  path, including the save of the scene collection.
* OBS logs to stdout/stderr (flushed per line); the file we capture them into is the run's log.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import string
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT_PATH = REPO_ROOT / "obs_blur" / "background_blur.py"
NAME = "ObsBlurTest"  # profile and scene collection name
SCENE = "Scene"
FILTER_KIND = "obs_blur_filter"

OBS_ARGUMENTS = ("obs", "--multi", "--disable-updater", "--disable-missing-files-check")
OBS_ROOT_VARIABLE = "OBS_BLUR_OBS_ROOT"
CHROOT_TOOL = REPO_ROOT / "tools" / "obs_chroot.sh"
XVFB_ARGUMENTS = ("-screen", "0", "1920x1080x24", "-nolisten", "tcp", "+extension", "GLX")
NOT_READY = 207  # obs-websocket's RequestStatus::NotReady
SCREENSHOT_NOT_READY = 702  # GetSourceScreenshot of a source that has no picture yet
SHUTDOWN_MARKER = "==== Shutting down"
_CLOSE_RETRY_S = 0.5
LEAK_MARKER = "Number of memory leaks"
# Lines that mean Python code failed somewhere in OBS: in a script callback, in an unguarded ctypes
# callback, or in one of our guarded trampolines.
PYTHON_ERROR_MARKERS = (
    "Traceback (most recent call last)",
    "Python failure in",
    "Exception ignored on calling ctypes callback",
    "[obs-blur] " + FILTER_KIND + ".",
)

_GLOBAL_INI = string.Template("""\
[General]
Pre19Defaults=false
Pre21Defaults=false
Pre23Defaults=false
Pre24.1Defaults=false
MaxLogs=5
FirstRun=true
LastVersion=486539266
ConfirmOnExit=false
EnableAutoUpdates=false

[BasicWindow]
SysTrayEnabled=false
SysTrayWhenStarted=false
SaveProjectors=false
PreviewEnabled=false

[Basic]
Profile=$name
ProfileDir=$name
SceneCollection=$name
SceneCollectionFile=$name
ConfigOnNewProfile=false

[OBSWebSocket]
FirstLoad=false
ServerEnabled=true
ServerPort=$port
AlertsEnabled=false
AuthRequired=true
ServerPassword=$password
DebugEnabled=false
""")

_PROFILE_INI = string.Template("""\
[General]
Name=$name

[Video]
BaseCX=$width
BaseCY=$height
OutputCX=$width
OutputCY=$height
FPSType=0
FPSCommon=$fps
ScaleType=bicubic
ColorFormat=NV12
ColorSpace=709
ColorRange=Partial

[Output]
Mode=Simple

[SimpleOutput]
FilePath=$recordings
RecFormat=mkv

[Audio]
SampleRate=48000
ChannelSetup=Stereo
""")


@dataclass(frozen=True)
class ObsSettings:
    """What a headless OBS run looks like: canvas, frame rate, the script, its private dependencies."""

    width: int = 1280
    height: int = 720
    fps: int = 30
    script: Path = SCRIPT_PATH
    pydeps: Optional[Path] = None
    startup_timeout_s: float = 60.0
    script_loads: int = 1  # 2 loads the script twice: the same path as "Reload Scripts" re-running script_load
    extra_scripts: tuple[Path, ...] = ()  # more scripts the collection loads after ours (test helpers)
    environment: Mapping[str, str] = field(default_factory=dict)  # extra variables for OBS (e.g. OBS_BLUR_STATS)
    # Extra entries for the collection's "sources" list, in OBS's own format ("filters" included), each
    # shown in the scene: what a hand-edited collection holds before OBS starts.
    sources: tuple[Mapping[str, Any], ...] = ()


#: Crashes of OBS's own code at exit, each known by frames of the crashed thread's backtrace. The one
#: here: obs-websocket's ``WebSocketServer::Stop`` (module unload, UI thread) closes the acceptor
#: with ``stop_listening`` while its IO thread, woken by that very close, starts the next accept on
#: it (``handle_accept`` -> ``start_accept``). Same code in obs-websocket 5.1 (OBS 29) to 5.7.
WEBSOCKET_ACCEPT_RACE = "obs-websocket's IO thread accepting while its server stops"
#: OBS 32's ``ClearSceneData`` (the UI thread, at exit) removes every source, then deletes the widgets
#: it scheduled for deletion (``sendPostedEvents(DeferredDelete)``) while the destroy thread frees the
#: removed sources: a deleted widget's ``OBSSignal`` then disconnects from a signal handler already
#: freed (SIGSEGV in ``signal_handler_disconnect`` under ``QWidget::~QWidget``). It strikes after
#: every filter of ours is destroyed and the script unloaded, before "All scene data cleared".
WIDGET_SIGNAL_RACE = "OBS's UI disconnecting a deleted widget from a source the destroy thread freed"
#: OBS 32.2's obs-websocket, at module unload: its IO thread, parsing the HTTP handshake of a client
#: connecting as the server stops, reads freed memory (SIGSEGV in websocketpp's
#: ``http::parser::process_header``). Seen once in CI (forky), after the script had unloaded with no
#: filter alive and the scene data cleared.
WEBSOCKET_HANDSHAKE_RACE = "obs-websocket's IO thread reading a client's handshake while its server stops"
UPSTREAM_EXIT_CRASHES = {
    WEBSOCKET_ACCEPT_RACE: ("WebSocketServer::ServerRunner", "start_accept"),
    WEBSOCKET_HANDSHAKE_RACE: ("websocketpp::http::parser::parser::process_header", "obs-websocket.so"),
    WIDGET_SIGNAL_RACE: ("signal_handler_disconnect", "QObjectPrivate::deleteChildren", "sendPostedEvents"),
}
#: Where that race strikes when no core is at hand (a core_pattern that pipes cores elsewhere): OBS's
#: log ends with this line of obs-websocket's module unload, which runs ``Stop``; nothing of the
#: filter runs then (every source is destroyed, the script unloaded).
WEBSOCKET_UNLOAD_STARTED = "[obs-websocket] [obs_module_unload] Shutting down..."
#: In the log once every source is destroyed at exit (the filter's part of the exit is over).
SCENE_DATA_CLEARED = "All scene data cleared"


@dataclass(frozen=True)
class StopResult:
    """How OBS ended: ``method`` is WM_DELETE_WINDOW (clean), SIGTERM or SIGKILL; ``clean_log`` from the log."""

    method: str
    seconds: float
    returncode: Optional[int]
    clean_log: bool
    #: OBS's last log lines when it did not end cleanly: what a failed CI run shows of the crash.
    log_tail: str = ""
    #: The name of an ``UPSTREAM_EXIT_CRASHES`` entry when OBS died of one after clearing its scene data.
    upstream_crash: str = ""

    @property
    def ended_cleanly(self) -> bool:
        """Exit code 0 with OBS's whole shutdown logged, or a known crash in OBS's own code after the
        filters were gone (then OBS never logs its leak count, so no leak figure exists)."""
        return (self.returncode == 0 and self.clean_log) or bool(self.upstream_crash)

    def __repr__(self) -> str:
        """The fields, then the log's end when there is one: pytest shows this repr in a failed assert."""
        fields = f"method={self.method!r}, seconds={self.seconds:.2f}, returncode={self.returncode}"
        shown = f"StopResult({fields}, clean_log={self.clean_log}, upstream_crash={self.upstream_crash!r})"
        return f"{shown}; the end of OBS's log:\n{self.log_tail}" if self.log_tail else shown


@dataclass
class _Processes:
    xvfb: subprocess.Popen
    display: str
    obs: Optional[subprocess.Popen] = None
    log_file: Any = None


def free_tcp_port() -> int:
    """A port nothing listens on right now (the kernel picks it at random)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def obs_root() -> Optional[Path]:
    """The chroot whose OBS the tests drive (``OBS_BLUR_OBS_ROOT``), or None for the host's OBS."""
    root = os.environ.get(OBS_ROOT_VARIABLE)
    return Path(root) if root else None


def in_obs_root(path: str) -> Path:
    """``path`` (absolute) as the OBS under test sees it: inside its chroot, or on the host."""
    root = obs_root()
    return root / path.lstrip("/") if root else Path(path)


def beside_obs(*command: str) -> list[str]:
    """``command`` run where the OBS under test lives: on the host, or in its chroot (same paths, same pid)."""
    root = obs_root()
    prefix = ["bash", str(CHROOT_TOOL), "run", str(root)] if root else []
    return [*prefix, *command]


def run_beside_obs(*command: str, timeout_s: float = 600, **variables: str) -> subprocess.CompletedProcess:
    """``command`` as a user would type it where the OBS under test lives, in the repository's folder.

    The test venv's variables are left out, ``variables`` added; output is captured as text.
    """
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(variables)
    return subprocess.run(
        beside_obs(*command),
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def obs_command(*arguments: str) -> list[str]:
    """The command line that starts the OBS under test with ``arguments``."""
    return beside_obs(*OBS_ARGUMENTS, *arguments)


def missing_programs() -> list[str]:
    """Programs the harness needs that are not installed (in the chroot when one is named)."""
    root = obs_root()
    if root is None:
        return [program for program in ("obs", "Xvfb") if shutil.which(program) is None]
    return [f"{program} in {root}" for program in ("obs", "Xvfb") if not (root / "usr/bin" / program).is_file()]


def scene_collection(
    name: str,
    width: int,
    height: int,
    script: Path,
    script_loads: int = 1,
    sources: tuple[Mapping[str, Any], ...] = (),
    extra_scripts: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """A collection with one scene over a dark background colour, loading our script ``script_loads`` times.

    ``sources`` are added to the scene above the background. Sources that no scene references are
    destroyed right after load, so tests add theirs to the scene.
    """
    background = {
        "id": "color_source",
        "versioned_id": "color_source_v3",
        "name": "Background",
        "settings": {"color": 4282400832, "width": width, "height": height},
    }
    scripts = [script] * script_loads + list(extra_scripts)
    names = ["Background", *(source["name"] for source in sources)]
    items = [_scene_item(source_name, item_id) for item_id, source_name in enumerate(names, 1)]
    scene = {
        "id": "scene",
        "versioned_id": "scene",
        "name": SCENE,
        "settings": {"id_counter": 1 + len(sources), "custom_size": False, "items": items},
    }
    return {
        "name": name,
        "current_scene": SCENE,
        "current_program_scene": SCENE,
        "scene_order": [{"name": SCENE}],
        "sources": [scene, background, *sources],
        "groups": [],
        "transitions": [],
        "current_transition": "Fade",
        "transition_duration": 300,
        "modules": {"scripts-tool": [{"path": str(path), "settings": {}} for path in scripts]},
    }


def _scene_item(source: str, item_id: int) -> dict[str, Any]:
    return {
        "name": source,
        "id": item_id,
        "visible": True,
        "locked": False,
        "pos": {"x": 0.0, "y": 0.0},
        "scale": {"x": 1.0, "y": 1.0},
        "rot": 0.0,
        "align": 5,
        "bounds_type": 0,
    }


def decode_screenshot(image_data: str) -> np.ndarray:
    """RGBA pixels from GetSourceScreenshot's ``data:image/png;base64,...``."""
    png = base64.b64decode(image_data.split(",", 1)[1])
    bgra = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if bgra.ndim == 3 and bgra.shape[2] == 3:
        bgra = cv2.cvtColor(bgra, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)


@dataclass
class HeadlessObs:
    """One OBS installation-free run: its config folder, processes, websocket client and log.

    ``start()`` writes a fresh config; ``restart()`` keeps the config OBS saved on exit, which is how a
    user's OBS starts the next day.
    """

    run_dir: Path
    settings: ObsSettings = field(default_factory=ObsSettings)
    port: int = 0
    password: str = ""
    client: Any = None
    _processes: Optional[_Processes] = None
    _log_offset: int = 0

    @property
    def config_dir(self) -> Path:
        return self.run_dir / "config"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "obs.log"

    @property
    def pid(self) -> Optional[int]:
        """OBS's process id while it runs (benchmarks read its CPU time from /proc)."""
        return self._processes.obs.pid if self.running and self._processes and self._processes.obs else None

    @property
    def running(self) -> bool:
        return bool(self._processes and self._processes.obs and self._processes.obs.poll() is None)

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> HeadlessObs:
        """Write a fresh config, then start Xvfb and OBS and connect."""
        self.port = free_tcp_port()
        self.password = secrets.token_urlsafe(15)
        self._write_config()
        return self._launch()

    def restart(self) -> StopResult:
        """Stop cleanly (OBS saves the collection) and start again on the config OBS left behind."""
        result = self.stop()
        self._launch()
        return result

    def stop(self) -> StopResult:
        """Close OBS as a user would (WM_DELETE_WINDOW); SIGTERM then SIGKILL if it does not go; stop Xvfb."""
        self._disconnect()
        processes, self._processes = self._processes, None
        if processes is None or processes.obs is None:
            return StopResult("not running", 0.0, None, False)
        started = time.monotonic()
        method = _close_obs(processes, lambda: SHUTDOWN_MARKER in self.log_text())
        seconds = time.monotonic() - started
        _terminate(processes.xvfb, grace_s=3.0)
        processes.log_file.close()
        returncode, clean_log = processes.obs.returncode, self.clean_shutdown_logged()
        tail, upstream_crash = "" if returncode == 0 and clean_log else self.log_tail(60), ""
        if returncode is not None and returncode < 0:
            backtrace = crash_backtrace(self.run_dir)
            tail += backtrace
            upstream_crash = upstream_exit_crash(self.log_text(), backtrace)
        if upstream_crash:
            where = self.run_dir / "crash-backtrace.txt"
            warnings.warn(f"OBS crashed at exit in its own code ({upstream_crash}); see {where}", stacklevel=2)
        return StopResult(method, seconds, returncode, clean_log, tail, upstream_crash)

    # --- log --------------------------------------------------------------------------------------
    def log_text(self, whole: bool = False) -> str:
        """OBS's output since the current run started (or all runs with ``whole``)."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text if whole else text[self._log_offset :]

    def clean_shutdown_logged(self) -> bool:
        text = self.log_text()
        return SHUTDOWN_MARKER in text and LEAK_MARKER in text

    def python_errors(self) -> list[str]:
        """Log lines of the current run showing that Python code failed."""
        return [line for line in self.log_text().splitlines() if any(m in line for m in PYTHON_ERROR_MARKERS)]

    def wait_for_log(self, text: str, timeout_s: float = 10.0) -> str:
        """The first log line of the current run containing ``text``; fails after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.log_text().splitlines():
                if text in line:
                    return line
            time.sleep(0.1)
        raise TimeoutError(f"{text!r} not in the OBS log after {timeout_s:.0f} s; tail:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # --- websocket helpers ------------------------------------------------------------------------
    def screenshot(self, source: str) -> np.ndarray:
        """The source as rendered now, filters included, RGBA at its own size."""
        reply = self.client.get_source_screenshot(source, "png", None, None, -1)
        return decode_screenshot(reply.image_data)

    def screenshot_or_none(self, source: str) -> Optional[np.ndarray]:
        """The source's screenshot, or None while it has no picture (OBS answers 702).

        A source has none before a media source decodes its first frame, and for a moment while an
        image source reloads its file after a settings change.
        """
        from obsws_python.error import OBSSDKRequestError

        try:
            return self.screenshot(source)
        except OBSSDKRequestError as error:
            if error.code != SCREENSHOT_NOT_READY:
                raise
            return None

    def add_image_source(self, name: str, image_file: Path, timeout_s: float = 10.0) -> np.ndarray:
        """Add an image source to the scene and return its first non-empty screenshot."""
        self.client.create_input(SCENE, name, "image_source", {"file": str(image_file)}, True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            image = self.screenshot_or_none(name)
            if image is not None and image[..., 3].any():
                return image
            time.sleep(0.1)
        raise TimeoutError(f"image source {name!r} never rendered {image_file}")

    def add_media_source(self, name: str, video_file: Path, timeout_s: float = 20.0) -> None:
        """Add a looping media source playing ``video_file`` and wait until it shows a frame."""
        settings = {"local_file": str(video_file), "is_local_file": True, "looping": True}
        self.client.create_input(SCENE, name, "ffmpeg_source", settings, True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            image = self.screenshot_or_none(name)
            if image is not None and image[..., 3].any():
                return
            time.sleep(0.1)
        raise TimeoutError(f"media source {name!r} never showed a frame of {video_file}")

    def filter_kinds(self, source: str) -> dict[str, str]:
        """``{filter name: filter kind}`` on ``source``."""
        return {item["filterName"]: item["filterKind"] for item in self.client.get_source_filter_list(source).filters}

    def filter_settings(self, source: str, filter_name: str) -> dict[str, Any]:
        return dict(self.client.get_source_filter(source, filter_name).filter_settings)

    # --- internals --------------------------------------------------------------------------------
    def _write_config(self) -> None:
        if self.config_dir.exists():
            shutil.rmtree(self.config_dir)
        obs_dir = self.config_dir / "obs-studio"
        profile_dir = obs_dir / "basic" / "profiles" / NAME
        scenes_dir = obs_dir / "basic" / "scenes"
        for folder in (profile_dir, scenes_dir, self.run_dir / "recordings"):
            folder.mkdir(parents=True, exist_ok=True)
        global_ini = obs_dir / "global.ini"
        global_ini.write_text(_GLOBAL_INI.substitute(name=NAME, port=self.port, password=self.password))
        global_ini.chmod(0o600)
        s = self.settings
        (profile_dir / "basic.ini").write_text(
            _PROFILE_INI.substitute(
                name=NAME, width=s.width, height=s.height, fps=s.fps, recordings=self.run_dir / "recordings"
            )
        )
        collection = scene_collection(NAME, s.width, s.height, s.script, s.script_loads, s.sources, s.extra_scripts)
        (scenes_dir / f"{NAME}.json").write_text(json.dumps(collection, indent=2))

    def _environment(self, display: str) -> dict[str, str]:
        """The user's environment minus anything from the test venv, plus isolated XDG folders.

        OBS's embedded Python takes ``sys.executable`` from PATH, so the venv's bin must not come first.
        """
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV")}
        venv_bin = os.environ.get("VIRTUAL_ENV", "\0") + "/bin"
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
        env.update(
            DISPLAY=display,
            XDG_CONFIG_HOME=str(self.config_dir),
            XDG_CACHE_HOME=str(self.run_dir / "cache"),
            QT_QPA_PLATFORM="xcb",
            LIBGL_ALWAYS_SOFTWARE="1",
        )
        if self.settings.pydeps is not None:
            env["OBS_BLUR_PYDEPS"] = str(self.settings.pydeps)
        env.update(self.settings.environment)
        return env

    def _launch(self) -> HeadlessObs:
        missing = missing_programs()
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not installed: run `bash tools/run_tests.sh` as root once")
        xvfb, display = _start_xvfb()
        self._processes = _Processes(xvfb, display)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._processes.log_file = self.log_path.open("ab")
        self._processes.obs = subprocess.Popen(
            obs_command("--profile", NAME, "--collection", NAME, "--scene", SCENE),
            env=self._environment(display),
            cwd=self.run_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._processes.log_file,
            stderr=subprocess.STDOUT,
        )
        _allow_core_dumps(self._processes.obs.pid)
        try:
            self._wait_for_websocket()
            self._connect()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_websocket(self) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"OBS exited during startup; log tail:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"OBS websocket not up after {self.settings.startup_timeout_s:.0f} s:\n{self.log_tail()}")

    def _wait_until_ready(self) -> None:
        """Wait until OBS answers requests: OBS 30+ answer 207 until the collection and scripts are loaded."""
        from obsws_python.error import OBSSDKRequestError

        deadline = time.monotonic() + self.settings.startup_timeout_s
        while True:
            try:
                self.client.get_scene_list()
                return
            except OBSSDKRequestError as error:
                if error.code != NOT_READY or time.monotonic() > deadline or not self.running:
                    raise
            time.sleep(0.1)

    def _connect(self) -> None:
        import obsws_python

        self.client = obsws_python.ReqClient(host="127.0.0.1", port=self.port, password=self.password, timeout=30)

    def _disconnect(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):  # a dead connection is fine: we are stopping
                self.client.disconnect()
            self.client = None


def _allow_core_dumps(pid: int) -> None:
    """A crash of OBS (``pid``, which execs into OBS) leaves a core in its run folder, where plain cores go.

    Set from outside (``prlimit``) rather than in a ``preexec_fn``, which is not safe with the
    websocket client's threads running in this process.
    """
    with contextlib.suppress(ValueError, OSError):
        resource.prlimit(pid, resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def crash_backtrace(run_dir: Path, timeout_s: float = 120.0) -> str:
    """The crashed thread's backtrace from a core OBS left in ``run_dir`` (gdb on the host), for the failure.

    The backtrace is also kept in ``crash-backtrace.txt``; the core is removed (hundreds of MB). Empty
    when there is no core (a core_pattern that pipes elsewhere) or no gdb.
    """
    cores = sorted(run_dir.glob("core*"), key=lambda path: path.stat().st_mtime)
    if not cores or shutil.which("gdb") is None:
        return ""
    root = obs_root()
    command = ["gdb", "-batch", "-nx", "-ex", f"set sysroot {root or '/'}", "-ex", "bt 40", "-ex", "info threads"]
    try:
        found = subprocess.run(
            [*command, str(in_obs_root("/usr/bin/obs")), str(cores[-1])],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        found = f"gdb failed: {error}"
    (run_dir / "crash-backtrace.txt").write_text(found)
    for core in cores:
        core.unlink()
    lines = [line for line in found.splitlines() if line.startswith(("#", "Program terminated", "*", "  "))]
    return "\n--- backtrace of the crash (gdb on the core) ---\n" + "\n".join(lines[:120])


def upstream_exit_crash(log: str, backtrace: str) -> str:
    """Which of OBS's own known exit crashes killed it once the filter's part of the exit was over, or "".

    Over means: the scene data cleared, or the script unloaded at exit and every filter that was
    created destroyed. Then by the crashed thread's frames when there is a backtrace; without one,
    only by the log ending in obs-websocket's module unload.
    """
    shutdown_log = log.split(SHUTDOWN_MARKER)[-1]
    if SCENE_DATA_CLEARED not in shutdown_log and not _filters_gone(log, shutdown_log):
        return ""
    if backtrace:
        return known_upstream_crash(backtrace)
    lines = shutdown_log.rstrip().splitlines()
    if lines and lines[-1].endswith(WEBSOCKET_UNLOAD_STARTED):
        return f"{WEBSOCKET_ACCEPT_RACE} (no core: OBS's log ends as obs-websocket's unload begins)"
    return ""


def _filters_gone(log: str, shutdown_log: str) -> bool:
    """The script unloaded at exit and as many filters were destroyed as were created."""
    created = sum(" created (mode " in line for line in log.splitlines() if "[obs-blur] filter '" in line)
    destroyed = sum(line.endswith("' destroyed") for line in log.splitlines() if "[obs-blur] filter '" in line)
    return "[obs-blur] script unloaded" in shutdown_log and created == destroyed


def known_upstream_crash(backtrace: str) -> str:
    """The ``UPSTREAM_EXIT_CRASHES`` entry whose frames all appear in the crashed thread's backtrace, or ""."""
    frames = "\n".join(line for line in backtrace.splitlines() if line.startswith("#"))
    for name, needles in UPSTREAM_EXIT_CRASHES.items():
        if frames and all(needle in frames for needle in needles):
            return name
    return ""


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a display it picks itself (``-displayfd``: no race with other runs for the number).

    The X server comes from the same release as OBS: a newer Mesa fails to load OpenGL through an older one.
    """
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        beside_obs("Xvfb", "-displayfd", str(write_end), *XVFB_ARGUMENTS),
        pass_fds=(write_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        number = reader.readline().strip()
    if not number:
        _terminate(xvfb, grace_s=1.0)
        raise RuntimeError("Xvfb did not start")
    return xvfb, f":{number}"


def _close_obs(processes: _Processes, shutdown_started: Callable[[], bool], clean_timeout_s: float = 20.0) -> str:
    """End OBS and say how: WM_DELETE_WINDOW if it worked, else the signal that did.

    OBS ignores a close request that arrives in its first second or so (measured: at 0.5 s after the
    websocket came up nothing happened, at 1 s it closed), so the request is repeated until the log
    shows that shutdown began, and never after, so the shutdown itself is not disturbed.
    """
    obs = processes.obs
    assert obs is not None
    deadline = time.monotonic() + clean_timeout_s
    asked = False
    while time.monotonic() < deadline and obs.poll() is None:
        if not shutdown_started():
            asked = _send_close_request(processes.display, obs.pid) or asked
        try:
            obs.wait(timeout=_CLOSE_RETRY_S)
        except subprocess.TimeoutExpired:
            continue
    if obs.poll() is not None and asked:
        return "WM_DELETE_WINDOW"
    return _terminate(obs, grace_s=5.0)


def _terminate(process: subprocess.Popen, grace_s: float) -> str:
    if process.poll() is not None:
        return "exited"
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
        return "SIGTERM"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "SIGKILL"


def _send_close_request(display: str, pid: int) -> bool:
    """Send WM_DELETE_WINDOW to OBS's main window, found by WM_CLASS, title "OBS ..." and _NET_WM_PID."""
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.protocol import event

    connection = xdisplay.Display(display)
    try:
        protocols = connection.intern_atom("WM_PROTOCOLS")
        delete_window = connection.intern_atom("WM_DELETE_WINDOW")
        pid_atom = connection.intern_atom("_NET_WM_PID")
        window = _find_main_window(connection.screen().root, pid, pid_atom)
        if window is None:
            return False
        message = event.ClientMessage(
            window=window, client_type=protocols, data=(32, [delete_window, X.CurrentTime, 0, 0, 0])
        )
        window.send_event(message, event_mask=X.NoEventMask)
        connection.flush()
        return True
    finally:
        connection.close()


def _find_main_window(root: Any, pid: int, pid_atom: int) -> Any:
    from Xlib import X
    from Xlib.error import XError

    pending = [root]
    while pending:
        window = pending.pop()
        try:
            pending.extend(window.query_tree().children)
            title = window.get_wm_name() or ""
            classes = [name.lower() for name in (window.get_wm_class() or ())]
            owner = window.get_full_property(pid_atom, X.AnyPropertyType)
        except XError:
            continue  # windows come and go while we walk the tree
        title = title.decode("utf-8", "replace") if isinstance(title, bytes) else title
        if "obs" in classes and title.startswith("OBS ") and owner is not None and owner.value[0] == pid:
            return window
    return None
