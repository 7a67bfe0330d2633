# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Shared primitives: errors, ids, tenant scope and the object store.

The bottom layer: it imports nothing else from Arco, and nothing heavy (no IPython, pyarrow or
DuckDB). Every other layer builds on it.
"""
