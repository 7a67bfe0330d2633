# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco.toml``: a project's store, found by walking up from the working directory.

Like ``dbt_project.yml`` or ``pyproject.toml``, the file marks a project: every ``arco``
command, notebook (``%load_ext arco``), JupyterLab server and ``Workspace()`` started anywhere
below it uses the store it names, unless an argument or ``ARCO_ROOT`` says otherwise. ``arco
init`` writes one::

    root = ".arco"            # relative to this file; or a URL such as s3://bucket/lake
    tenant = "default"        # optional
    workspace = "default"     # optional

    [storage_options]         # optional, passed to fsspec
    endpoint_url = "http://127.0.0.1:9000"

Unknown keys are refused, so a typo does not silently send data elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from arco_nb.core.errors import ConfigError

__all__ = ["PROJECT_FILE", "Project", "find_project", "load_project", "project_text"]

PROJECT_FILE = "arco.toml"
_KEYS = frozenset({"root", "tenant", "workspace", "storage_options"})


@dataclass(frozen=True)
class Project:
    """What an ``arco.toml`` says; ``root`` is absolute (or a URL) once loaded."""

    path: str
    root: str | None = None
    tenant: str | None = None
    workspace: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)


def find_project(start: str | None = None) -> str | None:
    """The nearest ``arco.toml`` in ``start`` (default: the working directory) or a folder
    above it, or ``None``."""
    try:
        folder = os.path.abspath(start if start is not None else os.getcwd())
    except FileNotFoundError:  # the working directory was deleted under us
        return None
    while True:
        candidate = os.path.join(folder, PROJECT_FILE)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load_project(path: str) -> Project:
    """Read the project file at ``path``.

    Raises
    ------
    ConfigError
        If it cannot be read, is not TOML, has unknown keys or values of the wrong type.
    """
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc.strerror or exc}", hint="Fix or remove the file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", hint="Fix the line it names"
        ) from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{path} has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint="Known keys: " + ", ".join(sorted(_KEYS)),
        )
    for key in ("root", "tenant", "workspace"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise ConfigError(f"{path}: {key} must be a non-empty string", hint=f'{key} = "..."')
    options = data.get("storage_options", {})
    if not isinstance(options, dict):
        raise ConfigError(
            f"{path}: storage_options must be a table",
            hint='Write it as a [storage_options] section of key = "value" lines',
        )
    root = data.get("root")
    if root is not None and "://" not in root:
        # Relative to the file, not to wherever a command happens to start.
        root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), root))
    return Project(path, root, data.get("tenant"), data.get("workspace"), dict(options))


def project_text(root: str = ".arco") -> str:
    """The ``arco.toml`` that ``arco init`` writes."""
    return (
        "# Arco project: commands, notebooks and Workspace() below this folder use this store,\n"
        "# unless an argument or ARCO_ROOT says otherwise. A relative root is relative to\n"
        "# this file; a URL (s3://bucket/lake) works too.\n"
        f"root = {_toml_string(root)}\n"
        '# tenant = "default"\n'
        '# workspace = "default"\n'
        "\n"
        "# [storage_options]  # passed to fsspec\n"
        '# endpoint_url = "http://127.0.0.1:9000"\n'
    )


def _toml_string(value: str) -> str:
    import json

    # A JSON string (non-ASCII kept as is) is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)
