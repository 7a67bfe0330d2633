#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Usage: ensure-program.sh PROGRAM PACKAGE "WHAT IT IS" "MACOS HINT" [--optional]
# Make sure PROGRAM is on the PATH: install Debian's PACKAGE when apt-get can be used (root, or
# password-less sudo). With --optional, a missing program is only reported.
set -u
program=$1 package=$2 what=$3 macos=$4 optional=${5:-}
command -v "$program" >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    SUDO="none"
  fi
  if [ "$SUDO" != none ]; then
    echo "Installing $what with apt-get ..."
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "$package" >/dev/null
    command -v "$program" >/dev/null 2>&1 && exit 0
  fi
fi
echo "$what is missing: install the '$package' package" \
  "(Debian/Ubuntu: sudo apt-get install $package; macOS: $macos)." >&2
[ "$optional" = "--optional" ] && exit 0
exit 1
