# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures for the flow tests (the Dask cluster, ``dask_client``, is in ``tests/conftest.py``:
the notebook tests use it too)."""
