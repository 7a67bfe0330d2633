# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco use ROOT [--tenant T] [--workspace W]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("root", help="Local path or URL (s3://bucket/prefix).")
@argument("--tenant", help="Tenant id (default: keep the current one).")
@argument("--workspace", help="Workspace id (default: keep the current one).")
def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """Switch this notebook to another root, tenant or workspace."""
    from arco_nb.core.tenancy import TenantScope

    args = parse_argstring(command, line)
    settings = session.settings
    # Check before changing anything, so a bad id leaves the session as it was.
    TenantScope.from_env(
        args.root,
        tenant=args.tenant or settings.tenant or None,
        workspace=args.workspace or settings.workspace or None,
    ).store()
    settings.root = args.root
    if args.tenant:
        settings.tenant = args.tenant
    if args.workspace:
        settings.workspace = args.workspace
    session.reset()
    return Message(f"Arco metadata now in {session.where()}")
