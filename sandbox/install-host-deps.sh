#!/bin/sh
# Host packages the local grading-image build and the browser tests need (graders/backends/image.py):
#   debootstrap      builds a minimal Debian root filesystem without any registry
#   debian-archive-keyring  lets debootstrap verify bookworm (already there on Debian)
#   ca-certificates  https to deb.debian.org and PyPI
#   tar              packs the root filesystem for the engine
#   chromium, chromium-driver  the headless browser the page tests drive (the desk, the similarity page)
#   python3-venv     `python3 -m venv` for Debian's own python3, which the grading runtime is built with when
#                    labgrade runs on it (graders/backends/runtime_env.py; other Pythons bring venv themselves)
# Idempotent: apt-get only installs what is missing. Run as root on Debian/Ubuntu.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-host-deps.sh: run as root (apt-get needs it)" >&2
    exit 1
fi

PACKAGES="debootstrap debian-archive-keyring ca-certificates tar chromium chromium-driver python3-venv"
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
    echo "install-host-deps.sh: already installed:$(printf ' %s' $PACKAGES)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
echo "install-host-deps.sh: installed:$missing"
