# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reads as of a point in time: ``ws.read(asset, as_of=...)``.

A point is a time (an aware ``datetime`` or ISO 8601 text), a run (the moment it finished), or
a catalog version (the moment it was committed). An asset as of that point is the newest
materialization of each of its partitions made at or before it: the event log keeps every
materialization, and gc never deletes a data file a materialization names, so any point of
the workspace's life can be read back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from arco_nb.core.errors import ConfigError, RunNotFound

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.flow.status import LatestMaterialization

__all__ = ["AsOf", "materializations_as_of", "moment"]

#: A run id, a catalog version, a time, or ISO 8601 text of a time.
AsOf = str | int | dt.datetime
Sql = Callable[[str, Sequence[object]], Any]


def moment(as_of: AsOf, *, sql: Sql, catalog: Catalog) -> dt.datetime:
    """The instant ``as_of`` stands for (UTC).

    Raises
    ------
    RunNotFound
        A run id that names no run of this workspace.
    ConfigError
        A run that has not finished, a version the catalog does not have, a naive time, or
        text that is neither a run id nor a time.
    """
    from arco_nb.core.ids import is_id

    if isinstance(as_of, dt.datetime):
        if as_of.tzinfo is None:
            raise ConfigError(
                f"as_of={as_of.isoformat()} has no time zone",
                hint="Pass an aware time, e.g. datetime.now(UTC) or '2024-01-31T12:00:00+00:00'",
            )
        return as_of.astimezone(dt.UTC)
    if isinstance(as_of, int) and not isinstance(as_of, bool):
        if as_of == 0:
            return dt.datetime.min.replace(tzinfo=dt.UTC)  # before the first commit
        return catalog.record(as_of).created_at.astimezone(dt.UTC)  # CatalogError if none
    if isinstance(as_of, str) and is_id(as_of):
        found = sql("select status, finished_at from arco.runs where run_id = ?", [as_of])
        rows = found.fetchall()
        if not rows:
            raise RunNotFound(as_of)
        status, finished = rows[0]
        if finished is None:
            raise ConfigError(
                f"Run {as_of} has not finished ({status})",
                hint="Read as of a finished run, a time or a catalog version",
            )
        return finished.astimezone(dt.UTC)  # type: ignore[no-any-return]
    if isinstance(as_of, str):
        try:
            when = dt.datetime.fromisoformat(as_of)
        except ValueError:
            pass
        else:
            return moment(when, sql=sql, catalog=catalog)
    raise ConfigError(
        f"as_of={as_of!r} is neither a run id, a catalog version nor a time",
        hint="Pass a run id, an int catalog version, or a time such as '2024-01-31T12:00Z'",
    )


def materializations_as_of(
    sql: Sql, asset: str, when: dt.datetime
) -> dict[tuple[str, str], LatestMaterialization]:
    """The newest materialization of each partition of ``asset`` made at or before ``when``.

    Raises
    ------
    ConfigError
        ``asset`` had no materialization yet at ``when``.
    """
    from arco_nb.flow.status import LatestMaterialization

    rows = sql(
        """select asset, "partition", materialization_id, fingerprint, code_version, rows,
                  created_at, run_id
           from arco.materializations where asset = ? and created_at <= ?
           qualify row_number() over (
               partition by "partition" order by created_at desc, materialization_id desc) = 1""",
        [asset, when],
    ).fetchall()
    if not rows:
        raise ConfigError(
            f"Asset {asset!r} had no materialization as of {when.isoformat()}",
            hint="Pick a later point: ws.runs() and ws.catalog.history() list them",
        )
    return {(r[0], r[1]): LatestMaterialization(*r) for r in rows}
