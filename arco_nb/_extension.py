# SPDX-License-Identifier: Apache-2.0 OR MIT
"""IPython extension entry points; IPython itself is imported only when they are called."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register Arco's magics in ``ipython`` (``%load_ext arco`` or ``%load_ext arco_nb``)."""
    from arco_nb.notebook import extension

    extension.load_extension(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove what :func:`load_ipython_extension` registered (``%unload_ext arco``)."""
    from arco_nb.notebook import extension

    extension.unload_extension(ipython)
