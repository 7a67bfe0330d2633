#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Make sure graphviz's `dot` program is installed; Arco renders lineage graphs with it.
# With --optional, a missing `dot` is only reported.
exec sh "$(dirname "$0")/ensure-program.sh" dot graphviz "graphviz's 'dot' program" \
  "brew install graphviz" "${1:-}"
