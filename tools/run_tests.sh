#!/usr/bin/env bash
# The whole obs-blur test suite, from a fresh Debian/Ubuntu machine to a verdict, on three OBS releases.
#
#   bash tools/run_tests.sh [extra pytest arguments]
#
# 1. As root, installs what the tests need when it is missing: OBS Studio, Xvfb, Mesa's software
#    OpenGL, libobs-dev and a C compiler (the struct-layout test), mmdebstrap (the other OBS releases),
#    python3-venv, python3-pip, and gdb (a test whose OBS crashed shows the crash's backtrace). Without root it says what is missing and goes on; the OBS tests
#    then fail with the same message (they never skip).
# 2. Creates .venv if needed and installs the project with its test extras.
# 3. The host's OBS (Debian 12: OBS 29.0, Python 3.11): install.py puts numpy/onnxruntime/OpenCV for
#    the Python OBS embeds into .cache/obs-pydeps/<tag> (OBS_BLUR_PYDEPS), then ruff and pytest run
#    over all of tests/.
# 4. Each other OBS release in OBS_BLUR_OBS_SUITES (default "trixie forky": OBS 30.2 with Python 3.13,
#    OBS 32.2 with Python 3.14): tools/obs_chroot.sh builds (or reuses) a Debian chroot with that OBS,
#    install.py runs in it for its Python, and pytest runs tests/obs with OBS_BLUR_OBS_ROOT pointing
#    the harness at that OBS. A chroot that cannot be built fails the run: it is never skipped.
#    Deselected there, because they test the host rather than an OBS release: the installer tests
#    (they find the host's OBS from the test venv) and the worker-only soak (host Python).
# 5. Prints one line per OBS release and exits non-zero if anything failed, or if pytest collected
#    no test at all (its exit code 5), which would otherwise look like success.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SYSTEM_PACKAGES=(obs-studio obs-plugins xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl-mesa0
                 libobs-dev gcc libc6-dev mmdebstrap debian-archive-keyring python3-venv python3-pip gdb)
OBS_SUITES="${OBS_BLUR_OBS_SUITES-trixie forky}"
CHROOT_DESELECT=(--deselect tests/obs/test_installer.py --deselect tests/obs/test_soak.py::test_core_soak)
RESULTS=()
FAILED=0

log() { printf '\n== %s\n' "$*"; }

system_packages_missing() {
    command -v obs >/dev/null && command -v Xvfb >/dev/null && command -v npm >/dev/null \
        && command -v cc >/dev/null && command -v mmdebstrap >/dev/null && command -v gdb >/dev/null \
        && [ -f /usr/include/obs/obs-module.h ] \
        && python3 -c 'import ensurepip, venv' 2>/dev/null && return 1
    return 0
}

install_system_packages() {
    if ! system_packages_missing; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "run_tests: OBS Studio, Xvfb, libobs-dev, mmdebstrap or python3-venv is missing and this is not root" >&2
        echo "run_tests: on Debian/Ubuntu; install ${SYSTEM_PACKAGES[*]} (or re-run as root). Continuing: the OBS tests will fail." >&2
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

# install.py, run by the Python command "$@" (beside the OBS under test), for that OBS's Python into
# .cache/obs-pydeps/<prefix><tag>; prints that folder.
install_obs_dependencies() {
    local prefix="$1"
    shift
    local tag folder
    tag="$("$@" -c 'from installer import detect; print(detect.find_obs_python(None).tag)')"
    folder="$ROOT/.cache/obs-pydeps/$prefix$tag"
    log "Dependencies for OBS's Python ($tag) into $folder" >&2
    OBS_BLUR_PYDEPS="$folder" "$@" install.py --yes --device cpu >&2  # never the 2.6 GB CUDA flavour
    echo "$folder"
}

obs_version() {
    "$@" obs --version 2>/dev/null | sed -n 's/^OBS Studio - //p' | head -n 1
}

# Runs pytest, records "<label>: <summary>" for the table at the end; never stops the script. Each run
# keeps its temporary files (OBS's logs and configs among them) in .cache/pytest/<name> until the next.
run_pytest() {
    local label="$1" name="$2" status=0 output
    shift 2
    output="$(mktemp)"
    mkdir -p "$ROOT/.cache/pytest"  # pytest makes the run's folder, not its parents
    set +e
    .venv/bin/python -m pytest -ra --basetemp "$ROOT/.cache/pytest/$name" "$@" 2>&1 | tee "$output"
    status="${PIPESTATUS[0]}"
    set -e
    local summary
    summary="$(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$output" | tail -n 1 | tr -d '=')"
    rm -f "$output"
    if [ "$status" -eq 5 ]; then
        echo "run_tests: pytest collected no tests for $label: that is a failure, not a pass" >&2
    fi
    [ "$status" -eq 0 ] || FAILED=1
    RESULTS+=("$label:${summary:- pytest exit $status}")
}

run_on_host() {
    local version="" folder=""
    if command -v obs >/dev/null; then
        version="$(obs_version)"
        folder="$(install_obs_dependencies "" .venv/bin/python)"
    else
        echo "run_tests: OBS Studio is not installed: skipping install.py (the OBS tests will fail)" >&2
    fi
    log "ruff check ."
    .venv/bin/ruff check . || { FAILED=1; RESULTS+=("ruff: FAILED"); }
    log "pytest tests (host OBS ${version:-missing})"
    OBS_BLUR_PYDEPS="$folder" run_pytest "host OBS ${version:-missing}" host tests "$@"
}

run_in_chroot() {
    local suite="$1" root folder version
    shift
    log "OBS from Debian $suite (chroot)"
    if ! root="$(bash tools/obs_chroot.sh build "$suite")"; then
        echo "run_tests: FAILED: the $suite chroot could not be built; its OBS release was NOT tested" >&2
        FAILED=1
        RESULTS+=("$suite: FAILED, chroot not built: OBS NOT TESTED")
        return 0
    fi
    local beside=(bash tools/obs_chroot.sh run "$root")
    version="$(obs_version "${beside[@]}")"
    folder="$(install_obs_dependencies "$suite-" "${beside[@]}" python3)"
    log "pytest tests/obs (OBS $version from $suite)"
    OBS_BLUR_OBS_ROOT="$root" OBS_BLUR_PYDEPS="$folder" \
        run_pytest "$suite OBS $version" "$suite" tests/obs "${CHROOT_DESELECT[@]}" "$@"
}

install_system_packages
prepare_venv
run_on_host "$@"
for suite in $OBS_SUITES; do
    run_in_chroot "$suite" "$@"
done
[ -n "$OBS_SUITES" ] || echo "run_tests: OBS_BLUR_OBS_SUITES is empty: only the host's OBS was tested" >&2

log "Results"
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
    echo "run_tests: FAILED" >&2
    exit 1
fi
log "All checks passed"
