#!/bin/sh
# Build a Debian bookworm base image from Debian packages, for machines that cannot pull one
# (no Docker Hub): debootstrap a minimal root file system with Python and `docker import` it.
# An image of that name that already exists is reused (about 40 s and 300 MB otherwise).
#
#   tests/deploy/base_image.sh [NAME]     default trainscope-base:bookworm
#
# The deployment test (tests/deploy/test_compose_up.py) runs it; so can a person, then
# `TRAINSCOPE_BASE_IMAGE=trainscope-base:bookworm docker compose -f docker-compose.yml
# -f docker-compose.cpu.yml up --build`.
set -eu

name="${1:-trainscope-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$name" >/dev/null 2>&1; then
    echo "base image $name: exists, reused"
    exit 0
fi

rootfs="$(mktemp -d /tmp/trainscope-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
# minbase: essential packages only; Python, venv (the Dockerfile's environment) and the CA
# certificates (pip's HTTPS) on top.
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
echo "base image $name: built"
