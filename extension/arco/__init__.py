# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco``: the short name. ``import arco`` and ``%load_ext arco`` use Arco (``arco_nb``).

This package holds no code of its own; it re-exports :mod:`arco_nb`'s public API, including
``load_ipython_extension``.
"""

import arco_nb as _arco_nb
from arco_nb import *  # noqa: F403

__all__ = list(_arco_nb.__all__)
