#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Create the virtual environment. Debian ships venv support separately (python3-venv); install
# it with apt-get when we can, else say which package is missing.
set -u
PY=${1:-python3}
VENV=${2:-.venv}
"$PY" -m venv "$VENV" 2>/dev/null && exit 0
rm -rf "$VENV"
ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing python$ver-venv with apt-get ..."
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >/dev/null 2>&1 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1
  "$PY" -m venv "$VENV" && exit 0
fi
echo "Cannot create a virtual environment with $PY: install the 'python$ver-venv' package" \
  "(Debian/Ubuntu: sudo apt-get install python3-venv)." >&2
exit 1
