#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Make sure a Chromium browser is installed; the newcomer's-path test (tests/e2e) drives
# JupyterLab in it with Playwright. Installs Debian's chromium package when apt-get can be used
# (root, or password-less sudo); Playwright's own browser download is never used.
# With --optional, a missing browser is only reported.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    SUDO="none"
  fi
  if [ "$SUDO" != none ]; then
    echo "Installing Chromium with apt-get ..."
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium \
      >/dev/null
    command -v chromium >/dev/null 2>&1 && exit 0
  fi
fi
echo "Chromium is missing: install the 'chromium' package" \
  "(Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install --cask chromium)." >&2
[ "${1:-}" = "--optional" ] && exit 0
exit 1
