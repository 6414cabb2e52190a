#!/usr/bin/env bash
# The whole obs-blur test suite, from a fresh Debian/Ubuntu machine to a verdict.
#
#   bash tools/run_tests.sh [extra pytest arguments]
#
# 1. As root, installs what the OBS tests need when it is missing: OBS Studio, Xvfb, Mesa's software
#    OpenGL (and npm, python3-venv, python3-pip). Without root it says what is missing and goes on;
#    the OBS tests then fail with the same message (they never skip).
# 2. Creates .venv if needed and installs the project with its test extras.
# 3. Installs numpy/onnxruntime/OpenCV for the Python that OBS embeds with install.py, into
#    .cache/obs-pydeps/<tag> (OBS_BLUR_PYDEPS), so the tests never touch the user's home.
# 4. Runs ruff and pytest over all of tests/. Exits non-zero if either fails, and also when pytest
#    collected no test at all (its exit code 5), which would otherwise look like success.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SYSTEM_PACKAGES=(obs-studio obs-plugins xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl-mesa0
                 python3-venv python3-pip)

log() { printf '\n== %s\n' "$*"; }

system_packages_missing() {
    command -v obs >/dev/null && command -v Xvfb >/dev/null && command -v npm >/dev/null \
        && python3 -c 'import ensurepip, venv' 2>/dev/null && return 1
    return 0
}

install_system_packages() {
    if ! system_packages_missing; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "run_tests: OBS Studio, Xvfb or python3-venv is missing and this is not root on Debian/Ubuntu;" >&2
        echo "run_tests: install ${SYSTEM_PACKAGES[*]} (or re-run as root). Continuing: the OBS tests will fail." >&2
        return 0
    fi
    local packages=("${SYSTEM_PACKAGES[@]}")
    # npm only when there is none: a machine with another vendor's Node.js (e.g. NodeSource's, which
    # bundles npm) conflicts with Debian's npm package, and apt would then refuse the whole install.
    command -v npm >/dev/null || packages+=(npm)
    log "Installing system packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
}

prepare_venv() {
    if [ ! -x .venv/bin/python ]; then
        log "Creating .venv"
        python3 -m venv .venv
    fi
    log "Installing the project and its test extras into .venv"
    .venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
}

install_obs_dependencies() {
    if ! command -v obs >/dev/null; then
        echo "run_tests: OBS Studio is not installed: skipping install.py (the OBS tests will fail)" >&2
        return 0
    fi
    local tag
    tag="$(.venv/bin/python -c 'import install; print(install.find_obs_python(None).tag)')"
    export OBS_BLUR_PYDEPS="$ROOT/.cache/obs-pydeps/$tag"
    log "Dependencies for OBS's Python into $OBS_BLUR_PYDEPS"
    .venv/bin/python install.py --yes --device cpu  # CI: never the 2.6 GB CUDA flavour
}

run_checks() {
    local ruff_status=0 pytest_status=0
    log "ruff check ."
    .venv/bin/ruff check . || ruff_status=$?
    log "pytest tests"
    .venv/bin/python -m pytest -ra tests "$@" || pytest_status=$?
    if [ "$pytest_status" -eq 5 ]; then
        echo "run_tests: pytest collected no tests: that is a failure, not a pass" >&2
    fi
    if [ "$ruff_status" -ne 0 ] || [ "$pytest_status" -ne 0 ]; then
        echo "run_tests: FAILED (ruff exit $ruff_status, pytest exit $pytest_status)" >&2
        return 1
    fi
    log "All checks passed"
}

install_system_packages
prepare_venv
install_obs_dependencies
run_checks "$@"
