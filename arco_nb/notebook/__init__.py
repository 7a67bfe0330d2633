# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Notebook layer: IPython magics and display. The only layer that imports IPython."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ipywidgets

    from arco_nb.workspace import Workspace

__all__ = ["browse"]


def browse(workspace: Workspace | None = None, *, search: str = "") -> ipywidgets.VBox:
    """Open the catalog browser widget on ``workspace`` (default: ``Workspace()``).

    ``search`` filters the asset and table list (by name, kind, tag or status). The browser is
    an ipywidgets widget: display it (the last expression of a cell is displayed).

    Examples
    --------
    >>> arco.browse(arco.Workspace("s3://lake/arco"), search="orders")  # doctest: +SKIP
    """
    from arco_nb.notebook.browser import CatalogBrowser
    from arco_nb.workspace import Workspace

    return CatalogBrowser(workspace if workspace is not None else Workspace(), search=search)
