#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests, installing Debian's `chromium` with apt-get
# when none is there and this machine can (root, or sudo without a password). Otherwise it prints
# one line saying what to do, on stderr, and exits 1. Called by `make test`.
set -uo pipefail

found() { echo "$1"; exit 0; }
if [ -n "${DECODING_LESSONS_CHROMIUM:-}" ] && [ -x "${DECODING_LESSONS_CHROMIUM}" ]; then found "$DECODING_LESSONS_CHROMIUM"; fi
for name in chromium chromium-browser; do
  if path=$(command -v "$name" 2>/dev/null); then found "$path"; fi
done

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
if command -v apt-get >/dev/null 2>&1 && [ "$SUDO" != none ]; then
  echo "==> installing Debian's chromium for the browser tests (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    if path=$(command -v chromium 2>/dev/null); then found "$path"; fi
  fi
  echo "==> apt-get could not install chromium" >&2
fi

echo "make test needs Chromium for its browser tests: install it (Debian/Ubuntu: apt-get install chromium), or point to one with CHROMIUM=/path/to/chromium make test, or run every other test with make test BROWSER=0" >&2
exit 1
