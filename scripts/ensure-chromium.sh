#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Make sure a Chromium browser is installed; the newcomer's-path test (tests/e2e) drives
# JupyterLab in it with Playwright, whose own browser download is never used.
# With --optional, a missing browser is only reported.
exec sh "$(dirname "$0")/ensure-program.sh" chromium chromium "Chromium" \
  "brew install --cask chromium" "${1:-}"
