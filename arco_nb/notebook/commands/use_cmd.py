# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco use [ROOT] [--tenant T] [--workspace W] [--storage-option KEY=VALUE ...]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("root", nargs="?", help="Local path or URL (s3://bucket/prefix); default: keep it.")
@argument("--tenant", help="Tenant id (default: keep the current one).")
@argument("--workspace", help="Workspace id (default: keep the current one).")
@argument(
    "--storage-option",
    dest="storage_options",
    action="append",
    default=[],
    metavar="KEY=VALUE",
    help="Passed to fsspec, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable; replaces "
    "the current options).",
)
def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """Switch this notebook to another root, tenant or workspace."""
    from arco_nb.core.settings import parse_options
    from arco_nb.core.tenancy import TenantScope

    args = parse_argstring(command, line)
    if not (args.root or args.tenant or args.workspace or args.storage_options):
        raise UsageError(
            "%arco use needs a root, --tenant, --workspace or --storage-option, "
            "e.g. %arco use --workspace tutorial-03"
        )
    options = parse_options(args.storage_options) if args.storage_options else None
    settings = session.settings
    root = args.root or settings.root or None
    # Check before changing anything, so a bad id leaves the session as it was.
    TenantScope.from_env(
        root,
        tenant=args.tenant or settings.tenant or None,
        workspace=args.workspace or settings.workspace or None,
        storage_options=options if options is not None else settings.storage_options,
    ).store()
    if args.root:
        settings.root = args.root
    if args.tenant:
        settings.tenant = args.tenant
    if args.workspace:
        settings.workspace = args.workspace
    if options is not None:
        settings.storage_options = options
    session.reset()
    return Message(f"Arco metadata now in {session.where()}")
