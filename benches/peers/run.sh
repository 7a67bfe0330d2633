#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Arco beside Dagster and JupySQL (see compare.py). The peers go into a throwaway virtual
# environment of their own, never the project's: PEERS_VENV (default: a new temporary folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
venv="${PEERS_VENV:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "$project" "dagster>=1.13,<1.14" "jupysql>=0.10" ipython
"$venv/bin/python" "$here/compare.py"
