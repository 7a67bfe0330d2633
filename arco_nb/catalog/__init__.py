# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Catalog layer: the Tier 1 catalog (commit log and snapshots) over the core object store."""
