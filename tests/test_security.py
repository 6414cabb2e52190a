"""What model files, settings and downloads can make obs-blur do: nothing but data, from pinned places.

* No code path deserialises executable data: no pickle/marshal/shelve, no eval/exec, no
  ``numpy.load(allow_pickle=True)``, no YAML loader, no shell command lines, no onnxruntime custom-op
  libraries (a model file could otherwise name a shared library to load). Checked over the syntax
  trees of everything the project ships, so a new use fails here, in review, not in a user's OBS.
* Downloads: only https URLs pinned to a commit, with the sha256 checked before use (the tamper
  tests are in test_models_and_providers.py), and no redirect to anything but https.
* The private dependency folder OBS imports code from: refused when other users could write to it.
"""

from __future__ import annotations

import ast
import os
import re
import stat
from pathlib import Path

import pytest

from obs_blur import paths
from obs_blur.errors import ObsBlurError
from obs_blur.segmentation.download import HttpsOnlyRedirects
from obs_blur.segmentation.manifest import load_manifest
from obs_blur.worker.interpreter import worker_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CODE = sorted(
    [
        REPO_ROOT / "install.py",
        *REPO_ROOT.glob("installer/**/*.py"),
        *REPO_ROOT.glob("obs_blur/**/*.py"),
        *REPO_ROOT.glob("tools/*.py"),
    ]
)
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "yaml", "joblib", "torch"}
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}  # called by bare name (re.compile is fine)
FORBIDDEN_METHODS = {("os", "system"), ("os", "popen"), ("*", "register_custom_ops_library"), ("np", "load")}


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _called_names(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """Every call as ("name", call) for ``name(...)`` and ("owner.name", call) for ``owner.name(...)``."""
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                owner = function.value.id if isinstance(function.value, ast.Name) else "?"
                calls.append((f"{owner}.{function.attr}", node))
            elif isinstance(function, ast.Name):
                calls.append((function.id, node))
    return calls


def _forbidden(name: str) -> bool:
    owner, _, method = name.rpartition(".")
    if not owner:
        return name in FORBIDDEN_BUILTINS
    return (owner, method) in FORBIDDEN_METHODS or ("*", method) in FORBIDDEN_METHODS


def _keyword_is_true(call: ast.Call, keyword: str) -> bool:
    return any(k.arg == keyword and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


@pytest.mark.parametrize("path", SHIPPED_CODE, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_no_code_runs_from_data(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    assert not _imported_modules(tree) & FORBIDDEN_MODULES
    findings = [
        f"line {call.lineno}: {name}(...)"
        for name, call in _called_names(tree)
        if _forbidden(name) or _keyword_is_true(call, "allow_pickle") or _keyword_is_true(call, "shell")
    ]
    assert findings == []


def test_the_scan_would_see_what_it_forbids() -> None:
    """The checks above find the patterns they look for (a scan that finds nothing proves nothing)."""
    sample = ast.parse(
        "import pickle\nnp.load(f, allow_pickle=True)\nsubprocess.run(c, shell=True)\neval(x)\n"
        "so.register_custom_ops_library(p)\nre.compile(r)"
    )
    assert _imported_modules(sample) & FORBIDDEN_MODULES == {"pickle"}
    calls = dict(_called_names(sample))
    assert _keyword_is_true(calls["np.load"], "allow_pickle") and _keyword_is_true(calls["subprocess.run"], "shell")
    assert [name for name in calls if _forbidden(name)] == ["np.load", "eval", "so.register_custom_ops_library"]


def test_downloads_are_https_pinned_to_a_commit_with_a_sha256() -> None:
    downloadable = [spec for spec in load_manifest().models if spec.source.get("kind") == "url"]
    assert downloadable, "the manifest lists the BodyPix downloads"
    for spec in downloadable:
        url, commit = spec.source["url"], spec.source["commit"]
        assert url.startswith("https://"), url
        assert re.fullmatch(r"[0-9a-f]{40}", commit) and f"/{commit}/" in url, url
        assert re.fullmatch(r"[0-9a-f]{64}", spec.source["sha256"])
    for spec in load_manifest().models:
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256 or spec.source["sha256"]), spec.name


@pytest.mark.parametrize("target", ["http://example.com/model.onnx", "file:///etc/passwd", "ftp://example.com/m"])
def test_a_redirect_away_from_https_is_refused(target: str) -> None:
    import urllib.request

    request = urllib.request.Request("https://raw.githubusercontent.com/x/y/model.onnx")
    with pytest.raises(ObsBlurError, match="only https"):
        HttpsOnlyRedirects().redirect_request(request, None, 302, "Found", {}, target)


def test_a_redirect_to_https_is_followed() -> None:
    import urllib.request

    request = urllib.request.Request("https://raw.githubusercontent.com/x/y/model.onnx")
    followed = HttpsOnlyRedirects().redirect_request(request, None, 302, "Found", {}, "https://cdn.example/m")
    assert followed is not None and followed.full_url == "https://cdn.example/m"


def test_private_folder_writable_by_others_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pydeps" / "cp311"
    folder.mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    assert paths.unsafe_code_folder(folder) is None

    folder.chmod(0o777)
    assert "writable by every user" in (paths.unsafe_code_folder(folder) or "")
    folder.chmod(0o755)
    folder.parent.chmod(0o777)  # another user could rename cp311 away and put their own in its place
    assert str(folder.parent) in (paths.unsafe_code_folder(folder) or "")
    folder.parent.chmod(0o1777)  # sticky, like /tmp: others cannot rename what is not theirs
    assert paths.unsafe_code_folder(folder) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user (CI runs as root)")
def test_private_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cp311"
    folder.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    os.chown(folder, 4242, 4242)
    assert "belongs to another user (uid 4242)" in (paths.unsafe_code_folder(folder) or "")


def test_worker_never_imports_from_a_refused_folder(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    safe = worker_environment({"OBS_BLUR_PYDEPS": str(tmp_path)})
    assert str(tmp_path) in safe["PYTHONPATH"].split(os.pathsep)
    tmp_path.chmod(tmp_path.stat().st_mode | stat.S_IWOTH)
    refused = worker_environment({"OBS_BLUR_PYDEPS": str(tmp_path)})
    assert str(tmp_path) not in refused["PYTHONPATH"].split(os.pathsep)
