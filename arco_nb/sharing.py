# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``Workspace.signed_urls``: which files stand behind an asset or a metadata view, signed.

A mixin of :class:`~arco_nb.workspace.Workspace`, kept apart so the facade stays small. Which
files back a view follows ``arco_nb/catalog/sql.py``: Tier 1 views read one snapshot file of
the current catalog version; Tier 2 views read the compacted parts of their fact table(s) that
the latest compaction manifest names, plus the inbox objects not compacted yet that hold their
kind of event. The signing itself, and every check on keys, is :mod:`arco_nb.core.signing`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from arco_nb.core.signing import DEFAULT_EXPIRY, SignedURL, expiry_seconds, sign_keys

if TYPE_CHECKING:
    from arco_nb.workspace import Workspace

__all__ = ["SignedURLs"]


class SignedURLs:
    """Adds :meth:`signed_urls` to a workspace."""

    def signed_urls(
        self, what: str, *, expires: dt.timedelta | float = DEFAULT_EXPIRY
    ) -> list[SignedURL]:
        """Signed, expiring read URLs for the files behind an asset or a metadata view.

        Parameters
        ----------
        what
            An asset name (the data files of its latest materialization, one per partition)
            or a metadata view such as ``"arco.runs"`` or ``"arco.tables"`` (the Parquet and
            JSON files the view reads now).
        expires
            How long the URLs stay valid: a ``timedelta`` or seconds, more than 0 and at most
            7 days. Default: 15 minutes.

        Returns
        -------
        list of SignedURL
            One per file: its key in the workspace, the URL and when it expires. On S3 roots
            the URLs are S3 presigned URLs (anyone with one can read the object until it
            expires); on local and ``memory://`` roots they are HMAC tokens that a server opens
            with :func:`arco_nb.core.signing.open_signed`.

        Raises
        ------
        AssetNotFound
            ``what`` is no view and no asset with a materialization.
        ConfigError
            An unknown ``arco.*`` view, or ``expires`` out of range.
        """
        from arco_nb.catalog.eventlog import INBOX
        from arco_nb.catalog.events import KINDS, parse_inbox_object
        from arco_nb.catalog.sql import METADATA_VIEWS, view_sources
        from arco_nb.core.errors import AssetNotFound, ConfigError, CorruptObject, ObjectNotFound
        from arco_nb.flow.materialize import data_key

        ws = cast("Workspace", self)
        seconds = expiry_seconds(expires)  # refuse a bad expiry before any work
        keys: list[str] = []
        if what.startswith("arco."):
            try:
                kind, sources = view_sources(what.removeprefix("arco."))
            except KeyError:
                raise ConfigError(
                    f"Unknown metadata view {what!r}",
                    hint="Views: " + ", ".join(f"arco.{v}" for v in METADATA_VIEWS),
                ) from None
            if kind == "snapshot":
                version = ws.catalog.version
                snapshot = ws.catalog.record(version).snapshot if version else {}
                keys = [snapshot[name] for name in sources if name in snapshot]
            else:
                manifest = ws.events.manifest()
                keys = [k for table in sources for k in manifest.parts.get(table, ())]
                kinds = {t.kind for t in KINDS.values() if t.name in sources}
                for key in ws.store.list(INBOX):
                    if key in manifest.compacted:
                        continue
                    try:
                        facts = parse_inbox_object(ws.store.read(key), key=key)
                    except (CorruptObject, ObjectNotFound):  # unreadable, or collected meanwhile
                        continue
                    if any(event.kind in kinds for event in facts):
                        keys.append(key)
        else:
            latest = ws.latest_materializations()
            found = sorted((p, m.materialization_id) for (a, p), m in latest.items() if a == what)
            if not found:
                import difflib

                recorded = sorted({a for a, _ in latest})
                raise AssetNotFound(what, suggestions=difflib.get_close_matches(what, recorded))
            keys = [data_key(what, partition, mid) for partition, mid in found]
        return sign_keys(ws.scope, keys, expires=seconds, store=ws.store)
