# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Metadata SQL (``ws.sql``) attacked by one tenant, on local disk and on S3.

``acme`` runs queries that try to read ``globex``'s snapshot Parquet, commit log, data files,
inbox events, compacted parts and manifests (by their real paths and URLs, by ``..`` from its own
directories, by ``file://``, percent-encoded, by glob), local files (``/etc/passwd``,
``/proc/self/environ``), to write (``COPY``, DDL, DML), to widen the engine (``ATTACH``,
``INSTALL``/``LOAD``, ``SET``/``RESET``/``PRAGMA`` of the sandbox's own settings, side-effecting
table functions), and the chained attack: rewrite the ``code`` column of globex's
``assets.parquet`` so that globex later runs acme's code. Each attempt must raise
``QueryRefused`` (``QueryError`` where the target merely does not exist), in one line, with
nothing of globex in it, and leave every byte under the root as it was. The queries the docs
and notebooks show must keep working.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from arco_nb import ArcoError, QueryError, QueryRefused, Workspace
from arco_nb.flow.assets import Registry
from tests.security.conftest import ASSETS, SECRETS, TwoTenants

REPO = Path(__file__).resolve().parents[2]
UP = "/".join([".."] * 5)  # from acme's catalog/snapshots (or events/compacted) to tenants/
GLOBEX = "globex/workspaces/default"
SANDBOX_SETTINGS = (
    "select name, value from duckdb_settings() where name in "
    "('enable_external_access', 'lock_configuration', 'allowed_directories', "
    "'autoload_known_extensions', 'autoinstall_known_extensions', 'temp_directory', "
    "'python_enable_replacements', 'enable_logging', 'enable_profiling') order by name"
)
ARCO_VIEWS = "select view_name, sql from duckdb_views() where schema_name = 'arco' order by 1"


def problem(ws: Workspace, query: str, allowed: tuple[type[ArcoError], ...]) -> str | None:
    """What is wrong with how ``ws.sql(query)`` failed, or ``None`` if it was refused well."""
    try:
        rows = ws.sql(query).fetchall()
    except allowed as exc:
        message = str(exc)
        if "\n" in message:
            return f"a message of several lines: {message!r}"
        if SECRETS["globex"] in message:
            return f"globex's data in the message: {message!r}"
        return None
    except Exception as exc:
        return f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    return f"ran, and returned {str(rows)[:300]}"


def refused(ws: Workspace, queries: list[str], *allowed: type[ArcoError]) -> dict[str, str]:
    """The queries that were not refused with one of ``allowed`` (default QueryRefused).

    Each must be valid SQL, so that a refusal is about what it does, not a typo in the test.
    """
    parser = duckdb.connect()
    found: dict[str, str | None] = {}
    for query in queries:
        try:
            parser.extract_statements(query)
        except duckdb.Error as exc:
            found[query] = f"the attack itself does not parse: {exc}"
            continue
        found[query] = problem(ws, query, allowed or (QueryRefused,))
    return {q: p for q, p in found.items() if p is not None}


def snapshot_key(ws: Workspace, name: str = "assets") -> str:
    """The key of a snapshot file of the workspace's current catalog version."""
    return ws.catalog.checkpoint().snapshot[name]


# -- reads ----------------------------------------------------------------------------------------
TARGETS: dict[str, tuple[str, Callable[[TwoTenants], str]]] = {
    "snapshot": ("parquet", lambda t: snapshot_key(t.globex)),
    "commit log": ("json", lambda t: t.key("globex", "catalog/_log/*.json")),
    "data": ("parquet", lambda t: t.key("globex", "data/orders/_/*.parquet")),
    "inbox": ("json", lambda t: t.key("globex", "events/inbox/*.json")),
    "compacted part": ("parquet", lambda t: t.key("globex", "events/compacted/lineage/*")),
    "manifest": ("json", lambda t: t.key("globex", "events/compacted/_manifests/*")),
}
READERS = {
    "parquet": [
        "select * from read_parquet('{}')",
        "select * from '{}'",  # a replacement scan
        "select * from parquet_metadata('{}')",
        "select * from parquet_kv_metadata('{}')",
        "select * from read_blob('{}')",
        "describe select * from read_parquet('{}')",
        "explain analyze select * from read_parquet('{}')",
    ],
    "json": [
        "select * from read_json_auto('{}')",
        "select * from read_text('{}')",
        "select * from read_csv('{}', header = false)",
        "select * from read_ndjson_objects('{}')",
        "select * from '{}'",
        "summarize select * from read_json('{}')",
    ],
}


def forms(t: TwoTenants, key: str) -> dict[str, str]:
    """Ways of naming globex's object ``key`` from acme's side."""
    direct = t.url("globex", key)
    mine = t.url("acme", "catalog/snapshots")
    commit_dir = f"{mine}/{snapshot_key(t.acme).split('/')[-2]}"
    named = {
        "direct": direct,
        "up from acme's snapshots": f"{mine}/{UP}/{GLOBEX}/{key}",
        "up from acme's commit": f"{commit_dir}/../{UP}/{GLOBEX}/{key}",
        "up from acme's compacted": f"{t.url('acme', 'events/compacted')}/{UP}/{GLOBEX}/{key}",
        # acme's data folder is readable too (its asset tables read it): 4 levels to tenants/
        "up from acme's data": f"{t.url('acme', 'data')}/{UP.removeprefix('../')}/{GLOBEX}/{key}",
        "percent-encoded name": direct.replace("/globex/", "/%67lobex/"),
        "percent-encoded dots": f"{mine}/{'/'.join(['%2e%2e'] * 5)}/{GLOBEX}/{key}",
        "double slashes": direct.replace("/tenants/", "//tenants//"),
    }
    if t.backend == "local":
        named["file URL"] = f"file://{direct}"
        named["file URL, localhost"] = f"file://localhost{direct}"
    elif t.backend == "s3":
        endpoint = t.storage_options["endpoint_url"]
        named["http URL of the S3 server"] = f"{endpoint}/{direct.removeprefix('s3://')}"
        named["s3a URL"] = "s3a://" + direct.removeprefix("s3://")
    return named


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_reading_globex_files_is_refused(two_tenants: TwoTenants, target: str) -> None:
    t = two_tenants
    kind, key_of = TARGETS[target]
    key = key_of(t)
    assert t.globex.store.exists(key), "the attacks below name a real object"
    named = forms(t, key)
    readers = READERS[kind]
    if t.backend == "s3":  # slower; and there the engine reads no file, whatever its name
        readers = readers[:2]
        named = {k: v for k, v in named.items() if "commit" not in k and "compacted" not in k}
    starts = ("direct", "up from acme's snapshots", "up from acme's data")
    strict = [r.format(named[f]) for r in readers for f in starts]
    # Names that point nowhere may also fail as "no such file" (QueryError).
    loose = [readers[0].format(path) for path in named.values()]
    with t.untouched():
        assert refused(t.acme, strict) == {}
        assert refused(t.acme, loose, QueryRefused, QueryError) == {}


def test_globs_and_lists_reach_no_other_tenant(two_tenants: TwoTenants) -> None:
    t = two_tenants
    mine = snapshot_key(t.acme)
    own = t.url("acme", mine)
    theirs = t.url("globex", snapshot_key(t.globex))
    pattern = mine.replace(mine.split("/")[-2], "*")  # catalog/snapshots/*/assets.parquet
    queries = [
        f"select * from glob('{t.root}/tenants/globex/**')",
        f"select * from glob('{t.root}/**')",
        f"select * from glob('{t.url('acme', 'catalog/snapshots')}/{UP}/{GLOBEX}/**')",
        f"select * from glob('{t.url('acme', 'catalog/snapshots')}/**/{UP}/../{GLOBEX}/**')",
        f"select * from read_parquet('{t.root}/tenants/*/workspaces/*/{pattern}')",
        f"select * from read_parquet('{t.root}/tenants/glob?x/workspaces/default/{pattern}')",
        f"select * from read_parquet('{t.root}/tenants/[g]lobex/workspaces/default/{pattern}')",
        f"select * from read_parquet('{t.root}/tenants/**/assets.parquet')",
        f"select * from read_parquet(['{own}', '{theirs}'], union_by_name = true)",
        f"select * from read_parquet('{own}') union all select * from read_parquet('{theirs}')",
        f"select * from read_parquet('{own}') where exists (from read_blob('{theirs}'))",
    ]
    with t.untouched():
        assert refused(t.acme, queries) == {}


def test_acme_reads_its_own_metadata_files_only_where_the_design_says(
    two_tenants: TwoTenants,
) -> None:
    """The positive control: on local disk the sandbox lets a tenant read its own snapshot and
    compacted Parquet by path (DESIGN §4, "metadata as files"), and its own data files (which
    its asset tables read, ADR 0024), so refusals above are about *whose* file it is. On S3
    the engine reads no file at all."""
    t = two_tenants
    own = [t.url("acme", snapshot_key(t.acme, "namespaces"))]
    own.append(t.url("acme", t.key("acme", "events/compacted/run_transitions/*")))
    own.append(t.url("acme", t.key("acme", "data/orders/_/*")))
    queries = [f"select * from read_parquet('{path}')" for path in own]
    with t.untouched():
        if t.backend == "local":
            rows = t.acme.sql(queries[0]).fetchall()
            assert any(SECRETS["acme"] in str(row) for row in rows)
            assert t.acme.sql(queries[1]).fetchall()
            assert SECRETS["acme"] in str(t.acme.sql(queries[2]).fetchall())
        else:
            assert refused(t.acme, queries) == {}
        # Its commit log and inbox are read by no view: refused.
        others = ["catalog/_log/*", "events/inbox/*"]
        paths = [t.url("acme", t.key("acme", pattern)) for pattern in others]
        assert refused(t.acme, [f"select * from read_blob('{p}')" for p in paths]) == {}


def test_local_files_and_urls_are_refused(two_tenants: TwoTenants) -> None:
    t = two_tenants
    canary = f"{t.outside}/canary.txt"
    queries = [
        "select * from read_text('/etc/passwd')",
        "select * from read_csv('/etc/passwd', sep = ':', header = false)",
        "select * from read_text('/proc/self/environ')",
        "select * from read_blob('/proc/self/environ')",
        "select * from read_text('file:///etc/passwd')",
        "select * from read_text('~/.aws/credentials')",
        "select * from glob('/*')",
        "select * from read_text('/etc/passwd\n')",
        f"select * from read_text('{canary}')",
        "select * from read_parquet('http://127.0.0.1:9/x.parquet')",
        "select * from read_text('https://example.com/')",
        f"select * from read_text('{t.url('acme', 'catalog/snapshots')}/{UP}/../../../etc/passwd')",
    ]
    # Without a known extension a quoted name is a table name, which does not exist.
    missing = ["select * from '/etc/passwd'", "select * from '/proc/self/environ'"]
    with t.untouched():
        assert refused(t.acme, queries) == {}
        assert refused(t.acme, missing, QueryRefused, QueryError) == {}


# -- writes and the engine's own settings ---------------------------------------------------------
def _writes(t: TwoTenants) -> dict[str, list[str]]:
    theirs = t.url("globex", t.key("globex", "data/orders/_/*.parquet"))
    own_meta = t.url("acme", snapshot_key(t.acme))  # inside the engine's allowed directories
    inbox = t.url("globex", t.key("globex", "events/inbox/*.json"))
    out = f"{t.outside}/written"
    copy = "copy (select 'acme was here' as x) to '{}' (format parquet)"
    return {
        "copy": [
            copy.format(theirs),
            copy.format(own_meta),
            copy.format(f"{out}.parquet"),
            f"copy (select 1 as x) to '{t.url('acme', 'catalog/snapshots')}/{UP}/{GLOBEX}/x.csv'",
            f"copy (select 1 as x) to '{out}' (format parquet, partition_by (x))",
            f"copy (from arco.runs) to '{out}.json'",
            f"copy arco.runs from '{inbox}'",
            "copy from database memory to memory",
            f"select 1; copy (select 1) to '{out}.csv'",
            f"explain analyze copy (select 1) to '{out}.csv'",
            f"explain (format json) copy (select 1) to '{out}.csv'",
            f"explain analyze /* ( */ copy (select 1) to '{out}.csv'",
            f"explain analyze /* /* */ select 1 -- */ copy (select 1) to '{out}.csv'",
            f"with x as (select 1) select * from x; copy (select 2) to '{out}.csv'",
        ],
        "ddl and dml": [
            "create table stolen as select * from arco.assets",
            "create view arco.leak as select 1",
            "create or replace view arco.runs as select 'pwned' as run_id",
            "create or replace temp view runs as select 1",
            "create macro m() as 1",
            "create secret s (type s3, key_id 'x', secret 'y')",
            "create sequence s",
            "insert into arco.runs (run_id) values ('pwned')",
            "update arco.assets set code = 'pwned'",
            "delete from arco.assets",
            "drop view arco.runs",
            "alter view arco.runs rename to gone",
            "truncate arco.runs",
        ],
        "attach and extensions": [
            f"attach '{out}.duckdb' as stolen",
            f"attach '{t.url('globex', 'catalog/x.duckdb')}' as stolen",
            "attach ':memory:' as scratch",
            "detach memory",
            "use system",
            "install httpfs",
            "force install httpfs",
            "load httpfs",
            f"load '{out}.duckdb_extension'",
        ],
        "settings": [
            "set enable_external_access = true",
            "set lock_configuration = false",
            "set global lock_configuration = false",
            "reset lock_configuration",
            "reset enable_external_access",
            f"set allowed_directories = ['{t.root}']",
            "set allowed_paths = ['/etc/passwd']",
            "set temp_directory = '/tmp'",
            "set autoload_known_extensions = true",
            "set python_enable_replacements = true",
            "set variable x = 1",
            "pragma enable_external_access",
            "pragma threads = 1",
            "pragma enable_profiling",
            f"pragma profiling_output = '{out}.txt'",
            "pragma version; set lock_configuration = false",
        ],
        "database statements": [
            f"export database '{out}'",
            f"import database '{t.url('globex', 'catalog')}'",
            "checkpoint",
            "vacuum",
            "begin transaction",
            "prepare p as select 1",
            "execute p",
            "call pragma_version()",
        ],
    }


@pytest.mark.parametrize(
    "kind", ["copy", "ddl and dml", "attach and extensions", "settings", "database statements"]
)
def test_statements_that_are_not_reads_are_refused(two_tenants: TwoTenants, kind: str) -> None:
    t = two_tenants
    views, settings = t.acme.sql(ARCO_VIEWS).fetchall(), t.acme.sql(SANDBOX_SETTINGS).fetchall()
    with t.untouched():
        assert refused(t.acme, _writes(t)[kind]) == {}
    assert t.acme.sql(ARCO_VIEWS).fetchall() == views, "the arco views are as they were"
    assert t.acme.sql(SANDBOX_SETTINGS).fetchall() == settings


def test_side_effecting_table_functions_change_nothing(two_tenants: TwoTenants) -> None:
    """SELECTs that call table functions meant for CALL: logging, profiling, grammar, nested
    SQL. The locked configuration stops them (as QueryError: the engine, not the statement
    check, refuses them)."""
    t = two_tenants
    out = f"{t.outside}/log"
    queries = [
        "select * from enable_logging()",
        f"select * from enable_logging(storage = 'file', storage_path = '{out}')",
        "select * from enable_profiling()",
        "select * from add_grammar_extension('x')",
        f"select * from query('copy (select 1) to ''{out}.csv''')",
        f"select * from query('select * from read_text(''{t.url('globex', 'data')}'')')",
        "select * from json_execute_serialized_sql("
        f"json_serialize_sql('copy (select 1) to ''{out}.csv'''))",
    ]
    settings = t.acme.sql(SANDBOX_SETTINGS).fetchall()
    with t.untouched():
        assert refused(t.acme, queries, QueryRefused, QueryError) == {}
    assert t.acme.sql(SANDBOX_SETTINGS).fetchall() == settings
    assert t.acme.sql("select count(*) from duckdb_logs").fetchall() == [(0,)]


def test_text_that_is_not_sql_is_a_query_error(two_tenants: TwoTenants) -> None:
    t = two_tenants
    queries = ["", ";", "selec 1", "select 'a\ud800'", "select 1 /* unterminated", "\x00"]
    with t.untouched():
        for query in queries:
            assert problem(t.acme, query, (QueryError,)) is None, query
        with pytest.raises(QueryError):
            t.acme.sql(b"select 1")  # type: ignore[arg-type]


# -- the chained attack ---------------------------------------------------------------------------
def test_acme_cannot_rewrite_the_code_globex_runs(
    two_tenants: TwoTenants, registry: Registry
) -> None:
    """acme rewrites the ``code`` column of globex's ``assets.parquet``; globex then restores
    its assets from its catalog (as ``arco run`` does) and runs them."""
    t = two_tenants
    target = t.url("globex", snapshot_key(t.globex))
    evil = "select 42 as acme_owns_you"
    rewrite = (
        f"(select * replace ('{evil}' as code) from read_parquet('{target}')) "
        f"to '{target}' (format parquet)"
    )
    traversal = target.replace(
        "/globex/", f"/acme/workspaces/default/catalog/snapshots/{UP}/globex/"
    )
    attacks = [
        f"copy {rewrite}",
        f"select 1; copy {rewrite}",
        f"explain analyze copy {rewrite}",
        f"copy {rewrite.replace(target, traversal)}",
        f"select * from read_parquet('{target}')",  # even a look at it
    ]
    with t.untouched():
        assert refused(t.acme, attacks) == {}
    globex = t.workspace("globex", registry=registry)
    assert globex.sql("select count(*) from arco.assets where code like '%acme%'").fetchall() == [
        (0,)
    ]
    globex.restore()
    for name in ASSETS:
        assert registry.get(name).code == t.registries["globex"].get(name).code
    with t.changes_only_below(t.prefix("globex")):
        result = globex.run(",".join(ASSETS))
    assert result.status == "succeeded"
    assert {task.status for task in result.state.tasks.values()} == {"up_to_date"}
    assert set(globex.read("orders").column("customer").to_pylist()) == {SECRETS["globex"]}


# -- what the docs show keeps working -------------------------------------------------------------
_MAGIC = re.compile(r"^%arco\s+sql\s+(.+)$", re.MULTILINE)
_CELL = re.compile(r"^%%arco\s+sql[^\n]*\n(.*?)(?:^```|\Z)", re.MULTILINE | re.DOTALL)
_CLI = re.compile(r"\barco\b[^\n]*?\bsql\s+(\"[^\"]*\"|'[^']*')")
_PY = re.compile(r"\bws\.sql\(\s*(\"\"\"[\s\S]*?\"\"\"|\"[^\"\n]*\"|'[^'\n]*')")


def documented_queries() -> list[tuple[str, str]]:
    """(where, query) of every metadata query in README.md, docs/, notebooks/ and examples/."""
    sources: list[tuple[str, str]] = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        sources.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                sources.append((f"{path.relative_to(REPO)}[{i}]", "".join(cell["source"])))
    for path in sorted((REPO / "examples").glob("*.py")):
        sources.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    found = []
    for where, text in sources:
        queries = [m.group(1) for m in _MAGIC.finditer(text)]
        queries += [m.group(1) for m in _CELL.finditer(text)]
        queries += [shlex.split(m.group(1))[0] for m in _CLI.finditer(text)]
        queries += [ast.literal_eval(m.group(1)) for m in _PY.finditer(text)]
        found += [(where, q.strip()) for q in queries if not re.fullmatch(r"[A-Z_]+", q.strip())]
    return found


def test_every_documented_query_still_works(two_tenants: TwoTenants) -> None:
    t = two_tenants
    queries = documented_queries()
    assert len(queries) >= 8, queries  # the extraction itself works
    failures, rows = {}, 0
    with t.untouched():
        for where, query in queries:
            try:
                rows += len(t.acme.sql(query).fetchall())
            except ArcoError as exc:
                failures[f"{where}: {query}"] = str(exc)
    assert failures == {}
    assert rows > 0
