# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Which files stand behind an asset or a metadata view (what ``Workspace.signed_urls`` signs).

Views follow their definitions in :mod:`arco_nb.catalog.sql` (:func:`view_sources`): Tier 1
views read one snapshot file of the current catalog version; Tier 2 views read the compacted
parts of their fact tables that the latest manifest names, plus the inbox objects not yet
compacted that hold their kind of event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.flow.status import LatestMaterialization

__all__ = ["files_behind"]


def files_behind(
    what: str,
    *,
    catalog: Catalog,
    events: EventLog,
    latest: Mapping[tuple[str, str], LatestMaterialization],
) -> list[str]:
    """The keys of the files behind ``what``: an asset (its latest data file per partition) or
    a metadata view such as ``"arco.runs"``.

    Raises
    ------
    AssetNotFound
        ``what`` is no view and no asset with a materialization.
    ConfigError
        An unknown ``arco.*`` view.
    """
    from arco_nb.catalog.events import KINDS, parse_inbox_object
    from arco_nb.catalog.sql import METADATA_VIEWS, view_sources
    from arco_nb.core.errors import AssetNotFound, ConfigError, CorruptObject, ObjectNotFound
    from arco_nb.flow.materialize import data_key

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
            # Signed files must hold the latest version: checkpoint it if no checkpoint does.
            snapshot = catalog.checkpoint().snapshot if catalog.version else {}
            keys = [snapshot[name] for name in sources if name in snapshot]
        else:
            manifest, fresh = events.listing()
            keys = [k for table in sources for k in manifest.parts.get(table, ())]
            kinds = {t.kind for t in KINDS.values() if t.name in sources}
            for key in fresh:
                try:
                    facts = parse_inbox_object(events.store.read(key), key=key)
                except (CorruptObject, ObjectNotFound):  # unreadable, or collected meanwhile
                    continue
                if any(event.kind in kinds for event in facts):
                    keys.append(key)
    else:
        found = sorted((p, m.materialization_id) for (a, p), m in latest.items() if a == what)
        if not found:
            import difflib

            recorded = sorted({a for a, _ in latest})
            raise AssetNotFound(what, suggestions=difflib.get_close_matches(what, recorded))
        keys = [data_key(what, partition, mid) for partition, mid in found]
    return keys
