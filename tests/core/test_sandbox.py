# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The SQL sandbox on its own: which statements pass, what the engine still reaches."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb.core.errors import ArcoError, QueryError, QueryRefused
from arco_nb.core.sandbox import (
    READ_ONLY_PRAGMAS,
    check_read_only,
    query_error,
    sandboxed_connection,
)

READS = [
    "select 1",
    "SELECT 1;",
    "with a as (select 1 as x) select * from a",
    "from range(3)",
    "values (1), (2)",
    "describe select 1 as x",
    "show tables",
    "show all tables",
    "summarize select 1 as x",
    "explain select 1",
    "explain analyze select 1",
    "EXPLAIN (FORMAT json) select 1",
    "pragma version",
    "pragma table_info('given')",
    "select 1; select 2",
    "/* a comment */ select 1 -- and another",
    "select * from (select 1) union all select 2",
]

WRITES = {
    "copy (select 1) to 'x.csv'": "COPY",
    "copy t from 'x.csv'": "COPY",
    "attach 'other.db' as o": "ATTACH",
    "detach o": "DETACH",
    "create table t as select 1": "CREATE",
    "create or replace view arco.runs as select 1": "CREATE",
    "create macro m() as 1": "CREATE",
    "insert into t values (1)": "INSERT",
    "update t set x = 1": "UPDATE",
    "delete from t": "DELETE",
    "drop view arco.runs": "DROP",
    "alter table t add column y int": "ALTER",
    "install httpfs": "LOAD",
    "load httpfs": "LOAD",
    "set threads = 1": "SET",
    "reset threads": "SET",
    "set variable x = 1": "SET",
    "pragma threads = 1": "SET",
    "pragma enable_profiling": "PRAGMA ENABLE_PROFILING",
    "pragma enable_checkpoint_on_shutdown": "PRAGMA ENABLE_CHECKPOINT_ON_SHUTDOWN",
    "call pragma_version()": "CALL",
    "export database 'dir'": "EXPORT",
    "import database 'dir'": "IMPORT DATABASE",
    "checkpoint": "CALL",
    "vacuum": "VACUUM",
    "begin transaction": "TRANSACTION",
    "prepare p as select 1": "PREPARE",
    "explain analyze copy (select 1) to 'x.csv'": "COPY",
    "explain copy (select 1) to 'x.csv'": "COPY",
    "explain analyze create table t as select 1": "CREATE",
    "explain (format json) copy (select 1) to 'x.csv'": "COPY",
    "select 1; copy (select 1) to 'x.csv'": "COPY",
    "select 1; attach 'x.db'": "ATTACH",
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = sandboxed_connection()
    con.register("given", pa.table({"x": [1]}))
    return con


@pytest.mark.parametrize("query", READS)
def test_reads_pass(con: duckdb.DuckDBPyConnection, query: str) -> None:
    assert check_read_only(con, query, where="test") >= 1
    assert con.sql(query) is not None or query.rstrip(";").endswith("select 2")


@pytest.mark.parametrize(("query", "kind"), sorted(WRITES.items()))
def test_writes_are_refused_naming_the_statement(
    con: duckdb.DuckDBPyConnection, query: str, kind: str
) -> None:
    with pytest.raises(QueryRefused) as info:
        check_read_only(con, query, where="Test SQL")
    assert info.value.statement_type.lower() == kind.lower(), str(info.value)
    assert info.value.where == "Test SQL"
    message = str(info.value)
    assert "\n" not in message
    assert "Only statements that read are allowed" in message


def test_every_read_only_pragma_passes(con: duckdb.DuckDBPyConnection) -> None:
    for name in READ_ONLY_PRAGMAS:
        check_read_only(con, f"pragma {name}", where="test")


def test_syntax_errors_and_empty_queries_are_query_errors(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        check_read_only(con, "selec 1", where="test")
    for empty in ("", "   ", ";", "-- nothing"):
        with pytest.raises(QueryError, match="holds no statement"):
            check_read_only(con, empty, where="test")


def _write(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": [value]}), path)


def test_the_engine_reads_only_the_given_directories(tmp_path: Path) -> None:
    mine, theirs, sibling = tmp_path / "acme", tmp_path / "globex", tmp_path / "acme2"
    for i, d in enumerate((mine, theirs, sibling)):
        _write(d / "x.parquet", i)
    con = sandboxed_connection([str(mine)])
    assert con.sql(f"select x from read_parquet('{mine}/x.parquet')").fetchall() == [(0,)]
    refused = [
        f"select * from read_parquet('{theirs}/x.parquet')",
        f"select * from read_parquet('{sibling}/x.parquet')",  # a prefix of the name is not enough
        f"select * from read_parquet('{mine}/../globex/x.parquet')",
        f"select * from read_parquet('file://{theirs}/x.parquet')",
        f"select * from glob('{tmp_path}/*')",
        "select * from read_text('/etc/passwd')",
        "select * from read_csv('/proc/self/environ')",
        "select * from read_parquet('http://127.0.0.1:9/x.parquet')",
        f"copy (select 1) to '{theirs}/y.csv'",
        f"attach '{theirs}/db.duckdb'",
        "install httpfs",
        "load httpfs",
    ]
    for query in refused:
        with pytest.raises(duckdb.Error):
            con.sql(query)
    for setting in ("enable_external_access = true", "allowed_directories = ['/']", "threads=1"):
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute(f"SET {setting}")
    assert not (theirs / "y.csv").exists()
    assert con.sql("select * from duckdb_secrets()").fetchall() == []  # none stored, none read


@pytest.mark.parametrize(
    "query",
    [
        "select * from enable_logging()",
        "select * from enable_profiling()",
        "select * from add_grammar_extension('x')",
    ],
)
def test_table_functions_that_change_settings_are_refused(query: str) -> None:
    con = sandboxed_connection()
    check_read_only(con, query, where="test")  # a SELECT to the parser; the lock stops it
    with pytest.raises(duckdb.Error) as info:
        con.sql(query)
    error = query_error(info.value, where="Test SQL", hint="")
    assert isinstance(error, QueryRefused)
    assert error.statement_type == "configuration change"


def test_registered_arrow_tables_stay_readable_and_python_variables_do_not() -> None:
    con = sandboxed_connection()
    con.register("given", pa.table({"x": [1]}))
    not_given = pa.table({"secret": [42]})
    assert con.sql("select x from given").fetchall() == [(1,)]
    with pytest.raises(duckdb.CatalogException):
        con.sql("select * from not_given")
    assert not_given.num_rows == 1


_SQL_WORDS = st.sampled_from(
    [
        "select", "copy", "attach", "explain", "analyze", "pragma", "set", "install", "load",
        "create", "table", "view", "to", "from", "(", ")", ";", "'x.csv'", "1", "*", "with",
        "as", "a", "threads", "=", "--", "/*", "*/", "values", "insert", "into", "call",
        "describe", "show", "summarize", "format", "json", ",", "read_text('/etc/passwd')",
    ]
)  # fmt: skip


@given(st.lists(_SQL_WORDS, max_size=12).map(" ".join) | st.text(max_size=60))
def test_the_classifier_raises_only_arco_errors(query: str) -> None:
    con = sandboxed_connection()
    try:
        count = check_read_only(con, query, where="fuzz")
    except ArcoError:
        return
    # Whatever passed must run without writing anything: reading is all that is left.
    assert count >= 1
    message = ""
    try:
        con.sql(query)
    except duckdb.Error as exc:
        message = str(exc)
    assert "locked" not in message, "a statement that passed tried to change the configuration"
