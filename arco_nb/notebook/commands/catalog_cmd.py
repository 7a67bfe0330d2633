# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco catalog``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


def command(session: Session, line: str, cell: str | None) -> Any:  # noqa: ARG001
    """The catalog browser widget (search, assets and tables, schema, preview, runs, lineage)."""
    from arco_nb.notebook.browser import CatalogBrowser

    browser = CatalogBrowser(session.workspace, search=line.strip())
    session.watch(browser)
    return browser
