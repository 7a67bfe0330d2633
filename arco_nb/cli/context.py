# SPDX-License-Identifier: Apache-2.0 OR MIT
"""What every command shares: the global settings, the workspace they open, one-line errors.

Command modules import this, never :mod:`arco_nb.cli.app`, which loads them lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from arco_nb.core import settings as core
    from arco_nb.workspace import Workspace

__all__ = ["CliError", "Settings", "pass_settings"]


class CliError(click.ClickException):
    """One line on stderr, exit code 2."""

    exit_code = 2


@dataclass
class Settings:
    """The global options, and the workspace they open (on first use)."""

    root: str | None = None
    tenant: str | None = None
    workspace: str | None = None
    storage_options: dict[str, str] = field(default_factory=dict)
    sql_sandbox: bool | None = None
    _ws: Workspace | None = None

    def resolve(self) -> core.Settings:
        """What these options and the environment choose (and why: ``origin``)."""
        from arco_nb.core.settings import Settings as Resolved

        return Resolved.from_env(
            root=self.root,
            tenant=self.tenant,
            workspace=self.workspace,
            storage_options=self.storage_options or None,
        )

    def open(self, *, restore: bool = True) -> Workspace:
        """The workspace; with ``restore``, the catalog's asset definitions are loaded."""
        if self._ws is None:
            from arco_nb.workspace import Workspace

            self._ws = Workspace(
                self.root,
                tenant=self.tenant,
                workspace=self.workspace,
                storage_options=self.storage_options or None,
                sandbox=self.sql_sandbox,
            )
            if restore:
                self._ws.restore()
        return self._ws


pass_settings = click.make_pass_decorator(Settings)
