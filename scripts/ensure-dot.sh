#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Make sure graphviz's `dot` program is installed; Arco renders lineage graphs with it.
# Installs Debian's graphviz package when apt-get can be used (root, or password-less sudo).
# With --optional, a missing `dot` is only reported.
set -u
command -v dot >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    SUDO="none"
  fi
  if [ "$SUDO" != none ]; then
    echo "Installing graphviz (the 'dot' program) with apt-get ..."
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends graphviz >/dev/null
    command -v dot >/dev/null 2>&1 && exit 0
  fi
fi
echo "graphviz's 'dot' program is missing: install the 'graphviz' package" \
  "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz)." >&2
[ "${1:-}" = "--optional" ] && exit 0
exit 1
