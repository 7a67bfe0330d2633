# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``Workspace``: one tenant's workspace under a root, and the entry point of the Python API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from arco_nb.core.settings import Settings
from arco_nb.core.signing import DEFAULT_EXPIRY
from arco_nb.core.storage import ObjectStore
from arco_nb.core.tenancy import TenantScope

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from arco_nb.catalog.catalog import Catalog
    from arco_nb.catalog.doctor import DoctorReport
    from arco_nb.catalog.eventlog import CompactionResult, EventLog
    from arco_nb.catalog.events import Event, RunStatus
    from arco_nb.catalog.gc import GcResult
    from arco_nb.catalog.sql import MetadataSQL
    from arco_nb.core.signing import SignedURL
    from arco_nb.flow.assets import AssetSpec, Registry
    from arco_nb.flow.execute import RunResult
    from arco_nb.flow.executors import ExecutorName
    from arco_nb.flow.graph import AssetGraph
    from arco_nb.flow.lineage import AssetInfo, LineageGraph
    from arco_nb.flow.materialize import TableCache
    from arco_nb.flow.plan import Plan
    from arco_nb.flow.runs import RunInfo, TaskInfo
    from arco_nb.flow.state import RunState
    from arco_nb.flow.status import LatestMaterialization, StatusIndex

__all__ = ["Workspace"]


class Workspace:
    """One workspace of one tenant: its catalog, its event log and SQL over both.

    Parameters
    ----------
    root
        Local path or fsspec URL (``./.arco``, ``s3://bucket/lake``). Default: ``ARCO_ROOT``,
        else the nearest ``arco.toml`` (:mod:`arco_nb.core.project`), else ``./.arco``.
    tenant, workspace
        Ids (``[a-z0-9][a-z0-9_-]{0,62}``). Default: ``ARCO_TENANT`` / ``ARCO_WORKSPACE``, else
        ``default``.
    storage_options
        Passed to fsspec (credentials, ``endpoint_url``, ...).
    grace
        How long compacted event objects are kept before garbage collection.
    sandbox
        Run SQL assets in the SQL sandbox: read-only statements over their upstream assets,
        no files, URLs or extensions. Default: ``ARCO_SQL_SANDBOX``, else off (a notebook's
        user can run any Python anyway). Turn it on wherever SQL comes from someone who must
        not reach beyond one tenant. Metadata SQL (:meth:`sql`) is always sandboxed.
    registry
        The asset definitions this workspace plans, runs and lists. Default: the process-wide
        one that ``@arco.asset``, ``sql_asset`` and ``%%asset`` add to.

    Examples
    --------
    >>> ws = Workspace("memory://docs-example", tenant="acme")
    >>> ws.catalog.create_namespace("sales").version
    1
    >>> ws.sql("select count(*) from arco.namespaces").fetchall()
    [(1,)]
    """

    def __init__(
        self,
        root: str | None = None,
        *,
        tenant: str | None = None,
        workspace: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        grace: dt.timedelta | None = None,
        sandbox: bool | None = None,
        registry: Registry | None = None,
    ) -> None:
        from arco_nb.flow.assets import default_registry

        self.settings: Settings = Settings.from_env(
            root=root,
            tenant=tenant,
            workspace=workspace,
            storage_options=storage_options,
            sql_sandbox=sandbox,
        )
        s = self.settings
        self.scope = TenantScope(s.root, s.tenant, s.workspace, storage_options=s.storage_options)
        self._grace = grace
        self.sandbox = s.sql_sandbox
        self.registry: Registry = default_registry if registry is None else registry

    @cached_property
    def store(self) -> ObjectStore:
        """The object store rooted at this workspace's prefix."""
        return self.scope.store()

    @cached_property
    def catalog(self) -> Catalog:
        """The Tier 1 catalog (namespaces, tables, columns, asset definitions)."""
        from arco_nb.catalog.catalog import Catalog

        return Catalog(self.store)

    @cached_property
    def events(self) -> EventLog:
        """The Tier 2 event log (runs, tasks, materializations, lineage)."""
        from arco_nb.catalog.eventlog import DEFAULT_GRACE, EventLog

        return EventLog(self.store, grace=DEFAULT_GRACE if self._grace is None else self._grace)

    @cached_property
    def _tables(self) -> TableCache:
        """The tables this workspace's runs just wrote, by materialization id: the next cell
        and :meth:`read` skip reading them back (bounded; oldest out first)."""
        from arco_nb.flow.materialize import TableCache

        return TableCache(max_bytes=64 << 20)

    @cached_property
    def _sql(self) -> MetadataSQL:
        from arco_nb.catalog.sql import MetadataSQL
        from arco_nb.flow.asset_tables import WorkspaceAssets

        assets = WorkspaceAssets(self.latest_materializations, self.registry, self.catalog)
        return MetadataSQL(self.catalog, self.events, assets)

    def sql(self, query: str, params: Sequence[object] | None = None) -> duckdb.DuckDBPyRelation:
        """Run read-only DuckDB SQL over this workspace's assets and its ``arco.*`` metadata
        views.

        Each asset with data is a table named after the asset that holds what
        :meth:`read` returns: the latest materialization, or for a partitioned asset the
        latest materialization of each partition of its current definition, with a
        ``partition`` column (text) holding the key. An asset that has a ``partition`` column
        of its own keeps it, and the key is in ``arco_partition`` instead. Only the assets a
        query names are looked up, so the cost of a query does not grow with the number of
        assets. The metadata views (``arco.runs``, ``arco.materializations``, ...) live in
        schema ``arco``: an asset named ``runs`` is ``runs``, the view is ``arco.runs``.

        The query runs in the SQL sandbox: it reads these tables and views and nothing else
        (no files of other workspaces, no URLs, ``ATTACH`` or extensions), and only
        statements that read are accepted.

        Parameters
        ----------
        query
            DuckDB SQL. Asset names that are SQL keywords are quoted (``select * from
            "order"``); names are compared without case.
        params
            Values for ``?`` placeholders (``ws.sql("... where asset = ?", ["orders"])``).

        Returns
        -------
        duckdb.DuckDBPyRelation
            The result, already computed (``.fetchall()``, ``.pl()``, ``.to_arrow_table()``).

        Raises
        ------
        QueryRefused
            A statement that is not a read, or that reaches outside the workspace.
        QueryError
            A syntax error; an unknown table (with close asset names suggested), view or
            column; or an asset with no data to read yet.
        CorruptObject
            A metadata or data file that is not readable Parquet.

        Examples
        --------
        >>> ws.sql("select count(*) from orders").fetchall()  # doctest: +SKIP
        [(3,)]
        >>> ws.sql("select * from sales where partition = ?", ["2024-01-03"])  # doctest: +SKIP
        """
        return self._sql.sql(query, params)

    def define(self, spec: AssetSpec) -> bool:
        """Record ``spec`` in the catalog (Tier 1) unless it is already recorded as it is.

        Returns whether the catalog changed.
        """
        return self.define_all([spec])

    def define_all(self, specs: Sequence[AssetSpec]) -> bool:
        """Record every definition that changed, in one catalog commit."""
        from arco_nb.catalog.operations import DefineAsset

        state = self.catalog.state
        ops = [
            DefineAsset(spec.to_record())
            for spec in specs
            if state.assets.get(spec.name) != spec.to_record()
        ]
        if not ops:
            return False
        self.catalog.commit(ops, author="arco-define")
        return True

    def restore(self, *, namespace: dict[str, Any] | None = None) -> list[str]:
        """Add the catalog's asset definitions that :attr:`registry` lacks; return their names.

        This is how a notebook knows, after a restart, the assets earlier sessions defined.
        Python cells run with ``namespace`` as their variables.
        """
        from arco_nb.flow.cells import spec_from_record

        target = self.registry
        added = []
        for name, record in sorted(self.catalog.state.assets.items()):
            if name not in target:
                target.add(spec_from_record(record, namespace=namespace))
                added.append(name)
        return added

    @cached_property
    def status(self) -> StatusIndex:
        """What the event log says each asset is now (latest materializations, last status)."""
        from arco_nb.flow.status import StatusIndex

        return StatusIndex(self.events)

    def latest_materializations(self) -> dict[tuple[str, str], LatestMaterialization]:
        """The newest recorded materialization of every (asset, partition)."""
        return self.status.latest()

    def plan(
        self,
        selection: str | None = None,
        *,
        partitions: str | None = None,
        force: bool = False,
    ) -> Plan:
        """Plan ``selection`` of the defined assets against what this workspace has recorded.

        Parameters
        ----------
        selection
            ``name``, ``+name``, ``name+``, ``tag:x``, ``a,b`` (default: every asset).
        partitions
            Keys of the selected partitioned assets: ``2024-01-01..2024-01-31``, ``eu,us``.
            Default: every key up to today (those up to date are skipped).
        force
            Run every selected task, up to date or not.
        """
        from arco_nb.flow.plan import build_plan

        return build_plan(
            self._graph(),
            selection,
            latest=self.latest_materializations(),
            force=force,
            partitions=partitions,
            max_partitions=self.settings.max_partitions,
        )

    def partition_status(self, asset: str, *, partitions: str | None = None) -> dict[str, str]:
        """Each partition key of ``asset`` (or those ``partitions`` names) and its status:
        ``materialized``, ``stale`` (its inputs or code changed since), ``failed`` (the latest
        attempt failed) or ``missing``."""
        from arco_nb.flow.status import FAILED_PARTITIONS_SQL, partition_status

        plan = self.plan(asset, partitions=partitions)
        failed = {key for (key,) in self.sql(FAILED_PARTITIONS_SQL, [asset]).fetchall()}
        return partition_status(plan, asset, failed)

    def run(
        self,
        selection: str | None = None,
        *,
        partitions: str | None = None,
        force: bool = False,
        executor: ExecutorName = "inline",
        max_workers: int | None = None,
        scheduler: str | None = None,
        client: Any = None,
        plan: Plan | None = None,
        observer: Callable[[Event], None] | None = None,
    ) -> RunResult:
        """Plan ``selection`` and execute it (or execute ``plan``, made by :meth:`plan`).

        Parameters
        ----------
        selection, partitions, force
            As for :meth:`plan`; ``partitions="2024-01-01..2024-01-31"`` backfills a range.
        executor
            ``"inline"`` (default), ``"threads"`` or ``"dask"``.
        max_workers
            Threads for the ``threads`` executor (default: CPUs, at most 8).
        scheduler, client
            For ``dask``: a ``distributed.Client``, or the scheduler's address (default:
            ``ARCO_DASK_SCHEDULER``). Workers need access to this workspace's root.
        observer
            Called with every event of the run as it is recorded (progress displays).
        """
        from arco_nb.catalog.autocompact import maybe_compact
        from arco_nb.flow.execute import execute_plan
        from arco_nb.flow.executors import dask_client
        from arco_nb.flow.plan import build_plan

        graph = self._graph()
        if plan is None:
            plan = build_plan(
                graph,
                selection,
                latest=self.latest_materializations(),
                force=force,
                partitions=partitions,
                max_partitions=self.settings.max_partitions,
            )
        own_client = None
        if executor == "dask" and client is None:
            own_client = client = dask_client(scheduler or self.settings.dask_scheduler)
        try:
            result = execute_plan(
                plan,
                graph,
                store=self.store,
                catalog=self.catalog,
                events=self.events,
                executor=executor,
                max_workers=max_workers,
                client=client,
                observer=observer,
                sandbox=self.sandbox,
                lease=self.settings.run_lease,
                cache=self._tables,
            )
        finally:
            if own_client is not None:
                own_client.close()
        maybe_compact(self.events, threshold=self.settings.auto_compact)
        return result

    def read(
        self,
        asset: str,
        partition: str | None = None,
        *,
        as_of: str | int | dt.datetime | None = None,
    ) -> pa.Table:
        """The data of ``asset``'s latest materialization, as an Arrow table.

        Parameters
        ----------
        asset
            The asset's name.
        partition
            For a partitioned asset: the latest materialization of ``partition``, or of every
            partition (in key order) when it is ``None``. Partitions of an earlier definition
            of the asset (before its partitions changed) are left out.
        as_of
            Read the asset as it was at a point of the workspace's life: a run id (as that
            run left it), a catalog version (``int``, as of its commit), or a time (an aware
            ``datetime`` or ISO 8601 text). Every partition materialized by then is read,
            whatever the asset's definition is now.

        Raises
        ------
        AssetNotFound, ConfigError, RunNotFound
            An unknown asset; nothing to read (at that point); a run id of no run here.
        """
        from arco_nb.flow.materialize import read_data
        from arco_nb.flow.status import readable

        if as_of is None:
            spec = self.registry.get(asset) if asset in self.registry else None
            latest = self.latest_materializations()
        else:
            from arco_nb.flow.as_of import materializations_as_of, moment

            when = moment(as_of, sql=self.sql, catalog=self.catalog)
            spec, latest = None, materializations_as_of(self.sql, asset, when)
        parts = readable(latest, asset, spec, partition)
        return read_data(self.store, asset, parts, cache=self._tables)

    def rerun(self, run_id: str, *, same_code: bool = False, **options: Any) -> list[RunResult]:
        """Run again, forced, the tasks run ``run_id`` ran (not those it found up to date):
        with today's definitions, or with ``same_code`` the ones it ran with, from the
        catalog's history. ``options`` go to :meth:`run` (``executor=...``). One run per set
        of partition keys: usually one.

        Raises
        ------
        RunNotFound, ConfigError
            No such run; it ran nothing, has not finished, or (``same_code``) ran code the
            catalog's history no longer holds.
        """
        from arco_nb.flow.rerun import registry_of_run, replay_groups

        groups = replay_groups(run_id, self.tasks(run_id))  # RunNotFound first
        ws = self
        if same_code:
            [(finished,)] = self.sql(
                "select finished_at from arco.runs where run_id = ?", [run_id]
            ).fetchall()
            codes = self.sql(
                "select asset, any_value(code_version) from arco.materializations "
                "where run_id = ? group by asset",
                [run_id],
            ).fetchall()
            registry = registry_of_run(self.catalog, run_id, finished, dict(codes))
            s = self.settings
            ws = Workspace(
                s.root,
                tenant=s.tenant,
                workspace=s.workspace,
                storage_options=s.storage_options,
                sandbox=self.sandbox,
                registry=registry,
            )
        return [ws.run(sel, partitions=keys, force=True, **options) for sel, keys in groups]

    def run_state(self, run_id: str) -> RunState:
        """Rebuild run ``run_id`` from its events alone."""
        from arco_nb.core.errors import RunNotFound
        from arco_nb.core.ids import is_id
        from arco_nb.flow.state import RunState

        if not isinstance(run_id, str) or not is_id(run_id):
            raise RunNotFound(str(run_id))
        return RunState.replay(run_id, self.events.events(run_id=run_id))

    def lineage(self, asset: str, *, up: int = 1, down: int = 1) -> LineageGraph:
        """The asset's neighbourhood with each node's latest status, rows and run."""
        from arco_nb.flow.lineage import build_lineage

        graph = self._graph()
        graph.select(asset)  # unknown names fail here, with close matches
        inputs = {
            (m, a): i
            for m, a, i in self.sql(
                "select materialization_id, input_asset, input_materialization_id from arco.lineage"
            ).fetchall()
        }
        return build_lineage(
            graph, asset, up=up, down=down, statuses=self.status.assets(), inputs=inputs
        )

    def assets(self, *, catalog_only: bool = False) -> list[AssetInfo]:
        """Every defined asset with its latest status, rows and materialization, by name.

        ``catalog_only``: the definitions the catalog records, without building (or checking)
        a graph of them; what a listing needs, and faster.
        """
        from arco_nb.flow.assets import listed_spec
        from arco_nb.flow.lineage import asset_infos

        if catalog_only:
            specs = {r.name: listed_spec(r) for r in self.catalog.state.assets.values()}
        else:
            specs = dict(self._graph().specs)
        return asset_infos(specs, self.status.assets())

    def explain(self, asset: str, *, partitions: str | None = None) -> str:
        """Why ``asset`` would run, or be skipped, in its own plan (per partition, summarised
        by reason when there are many). ``asset`` is one name, not a selection."""
        self._graph().require(asset)  # AssetNotFound, with close matches
        plan = self.plan(asset, partitions=partitions)
        return plan.explain_asset(asset, changed=self._changed_upstream(plan, asset, partitions))

    def _changed_upstream(
        self, plan: Plan, asset: str, partitions: str | None, *, detail: int = 5
    ) -> dict[tuple[str, str], list[str]]:
        """For each task of ``asset`` that runs because an upstream changed: the upstream
        assets whose fingerprint now differs from the one its previous materialization read
        (the lineage of that materialization says what it read)."""
        stale = [t for t in plan.tasks if t.asset == asset and t.reason == "upstream changed"]
        if not stale or len([t for t in plan.tasks if t.asset == asset]) > detail:
            return {}
        now = {t.key: t.fingerprint for t in self.plan(f"+{asset}", partitions=partitions).tasks}
        marks = ", ".join("?" for _ in stale)
        read: dict[str, dict[tuple[str, str], str]] = {}
        for mid, up, part, fingerprint in self.sql(
            "select l.materialization_id, l.input_asset, l.input_partition, m.fingerprint "
            "from arco.lineage l left join arco.materializations m "
            "on m.materialization_id = l.input_materialization_id "
            f"where l.materialization_id in ({marks})",
            [t.previous for t in stale],
        ).fetchall():
            read.setdefault(mid, {})[(up, part)] = fingerprint
        changed = {}
        for task in stale:
            before = read.get(task.previous, {})
            names = {a for a, p in task.inputs if before.get((a, p)) != now.get((a, p))}
            names |= {a for a, p in before if (a, p) not in task.inputs}  # no longer read
            if names:
                changed[task.key] = sorted(names)
        return changed

    def _graph(self) -> AssetGraph:
        """The validated graph of :attr:`registry`, rebuilt only when the definitions change."""
        return self.registry._current_graph()

    def runs(
        self,
        *,
        asset: str | None = None,
        status: RunStatus | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Runs, newest first: all, those with a task for ``asset``, or those in ``status``."""
        from arco_nb.flow.runs import list_runs

        return list_runs(self.sql, asset=asset, status=status, limit=limit)

    def tasks(
        self, run_id: str | None = None, *, asset: str | None = None, limit: int | None = None
    ) -> list[TaskInfo]:
        """The tasks of run ``run_id`` (in the order they started), or of ``asset`` (newest
        first), with the user's errors. ``RunNotFound`` if ``run_id`` names no run."""
        from arco_nb.flow.runs import list_tasks

        return list_tasks(self.sql, run_id=run_id, asset=asset, limit=limit)

    def gc(self, *, grace: dt.timedelta | None = None, dry_run: bool = False) -> GcResult:
        """Delete snapshot and data files no record names, and temporary files of writes that
        never finished, older than ``grace`` (1 hour)."""
        from arco_nb.catalog.gc import collect_unreferenced

        return collect_unreferenced(self.catalog, self.events, grace=grace, dry_run=dry_run)

    def doctor(self, *, repair: bool = False) -> DoctorReport:
        """Verify the catalog log, snapshots, compaction manifests, parts, inbox and data files.

        Parameters
        ----------
        repair
            Move damaged objects under ``_quarantine/`` (nothing is ever deleted), rebuild
            snapshot files from the commit log, and drop damaged parts from the event log so
            that their inbox objects, where still present, are compacted again. Commit records
            and data files cannot be rebuilt: their findings say what to do.

        Returns
        -------
        DoctorReport
            What was checked, the findings, and where damaged objects were moved.
        """
        from arco_nb.catalog.doctor import examine

        return examine(self.catalog, self.events, repair=repair)

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
        from arco_nb.core.signing import expiry_seconds, sign_keys
        from arco_nb.flow.files import files_behind

        seconds = expiry_seconds(expires)  # refuse a bad expiry before any work
        keys = files_behind(
            what, catalog=self.catalog, events=self.events, latest=self.latest_materializations()
        )
        return sign_keys(self.scope, keys, expires=seconds, store=self.store)

    def compact(self) -> CompactionResult:
        """Compact the event inbox into Parquet and collect what the grace period allows."""
        return self.events.compact()

    def __repr__(self) -> str:
        s = self.scope
        return f"Workspace({s.root!r}, tenant={s.tenant!r}, workspace={s.workspace!r})"
