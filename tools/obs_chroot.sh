#!/usr/bin/env bash
# Other OBS releases for the test suite: Debian suites in chroots, built from Debian's packages.
#
#   bash tools/obs_chroot.sh build SUITE     print the chroot's folder, building it first if needed
#   bash tools/obs_chroot.sh run ROOT CMD..  run CMD inside the chroot ROOT (as root), in the current folder
#
# SUITE is a Debian suite: trixie (OBS 30.2, Python 3.13) or forky (OBS 32.2, Python 3.14).
#
# build: mmdebstrap installs OBS, its Python, Mesa's software OpenGL, Xvfb, pip and libobs-dev (the headers the
# struct-layout test compiles against) into $OBS_BLUR_CHROOTS/SUITE (default /var/cache/obs-blur-chroots).
# A chroot is kept and reused until its recipe changes (the recipe's hash is stored beside it) or it is
# older than OBS_BLUR_CHROOT_MAX_DAYS (default 7), so a rerun costs nothing. A chroot that cannot be
# built (no network, no mmdebstrap, not root) is an error: the caller must fail, never skip.
#
# run: a private mount namespace (unshare) binds /proc, /sys, /dev (with /dev/shm), /tmp and the folder
# that holds the repository (so ../shared too) at the same paths inside the chroot, then execs CMD in
# the current folder. Every step execs, so CMD keeps the process id that was started: the harness
# finds OBS's window by that id. The mounts vanish with the process; nothing is left mounted.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROOTS="${OBS_BLUR_CHROOTS:-/var/cache/obs-blur-chroots}"
MAX_DAYS="${OBS_BLUR_CHROOT_MAX_DAYS:-7}"
MIRROR="${OBS_BLUR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Xvfb comes from the same suite as OBS: a newer Mesa cannot load OpenGL through an older Xvfb (OBS 32.2
# with Mesa 26 under Debian 12's Xvfb: "Failed to load OpenGL entry functions").
PACKAGES=obs-studio,python3,python3-pip,libgl1-mesa-dri,libegl-mesa0,libglx-mesa0,xvfb,xauth,ca-certificates,libobs-dev
# forky and sid's Release files can be past their Valid-Until date between publishes.
APT_OPTIONS=('Acquire::Check-Valid-Until "false"')

die() { echo "obs_chroot: $*" >&2; exit 1; }

recipe() {
    printf '%s\n' "$1" "$PACKAGES" "$MIRROR" "${APT_OPTIONS[@]}" "$(host_files_digest)" | sha256sum | cut -c1-16
}

# The host's CA bundle and pip configuration, copied in so that pip inside reaches the same index.
host_files_digest() {
    cat /etc/ssl/certs/ca-certificates.crt /etc/pip.conf 2>/dev/null | sha256sum | cut -c1-16
}

fresh() {
    local root="$1" wanted="$2"
    [ -x "$root/usr/bin/obs" ] && [ "$(cat "$root.recipe" 2>/dev/null)" = "$wanted" ] \
        && [ -n "$(find "$root.recipe" -mtime "-$MAX_DAYS" 2>/dev/null)" ]
}

build() {
    local suite="$1" root="$CHROOTS/$1" wanted
    wanted="$(recipe "$suite")"
    if fresh "$root" "$wanted"; then
        echo "$root"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "building the $suite chroot needs root (mmdebstrap, chroot)"
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
    mkdir -p "$CHROOTS"
    rm -rf "$root.new"
    echo "obs_chroot: building $suite (OBS from Debian's packages) in $root" >&2
    local options=()
    for option in "${APT_OPTIONS[@]}"; do options+=(--aptopt="$option"); done
    mmdebstrap --variant=apt --include="$PACKAGES" "${options[@]}" "$suite" "$root.new" "$MIRROR" >&2 \
        || die "mmdebstrap could not build the $suite chroot (network? mirror $MIRROR)"
    install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root.new/etc/ssl/certs/ca-certificates.crt"
    [ -f /etc/pip.conf ] && install -m 0644 /etc/pip.conf "$root.new/etc/pip.conf"
    cp -L /etc/resolv.conf "$root.new/etc/resolv.conf" 2>/dev/null || true
    # D-Bus (which OBS asks for the desktop's settings) wants a machine id; a chroot has none.
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root.new/etc/machine-id"
    rm -rf "$root" "$root.recipe"
    mv "$root.new" "$root"
    echo "$wanted" >"$root.recipe"
    echo "$root"
}

# Runs inside the new mount namespace: bind what OBS and the tests share, then exec into the chroot.
enter() {
    local root="$1"
    shift
    local shared_parent
    shared_parent="$(dirname "$REPO")"
    for folder in /proc /sys /dev /tmp "$shared_parent"; do
        mkdir -p "$root$folder"
        mount --rbind "$folder" "$root$folder"
    done
    exec chroot "$root" /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$@"
}

run() {
    local root="$1"
    shift
    [ -x "$root/usr/bin/obs" ] || die "$root is not an OBS chroot (build it: bash tools/obs_chroot.sh build SUITE)"
    [ "$#" -gt 0 ] || die "run: no command"
    exec unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" _enter "$root" "$@"
}

case "${1:-}" in
    build) [ "$#" -eq 2 ] || die "usage: build SUITE"; build "$2" ;;
    run) [ "$#" -ge 3 ] || die "usage: run ROOT CMD..."; shift; run "$@" ;;
    _enter) shift; enter "$@" ;;
    *) die "usage: build SUITE | run ROOT CMD..." ;;
esac
