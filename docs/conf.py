# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Sphinx configuration: MyST Markdown pages, numpydoc-style API docs, warnings are errors."""

from __future__ import annotations

from arco_nb import __version__

project = "Arco"
author = "The Arco maintainers"
copyright = "2026, The Arco maintainers"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False

html_theme = "furo"
html_title = f"Arco {__version__}"
