# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Notebook layer: IPython magics and display. The only layer that imports IPython."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arco_nb.notebook.browser import CatalogBrowser
    from arco_nb.workspace import Workspace

__all__ = ["browse"]


def browse(workspace: Workspace | None = None, *, search: str = "") -> CatalogBrowser:
    """Open the catalog browser widget on ``workspace`` (default: ``Workspace()``).

    Examples
    --------
    >>> arco.browse(arco.Workspace("s3://lake/arco"), search="orders")  # doctest: +SKIP
    """
    from arco_nb.notebook.browser import CatalogBrowser
    from arco_nb.workspace import Workspace

    return CatalogBrowser(workspace if workspace is not None else Workspace(), search=search)
