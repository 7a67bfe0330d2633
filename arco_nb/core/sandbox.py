# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The SQL sandbox: DuckDB connections that reach only what they are given, and read-only SQL.

Two layers, each enough on its own for the common attacks (``docs/adr/0013-sql-sandbox.md``):

* **The engine.** :func:`sandboxed_connection` opens an in-memory DuckDB with external access
  off (no files, URLs, ``ATTACH``, ``INSTALL``/``LOAD``, secrets or Python replacement scans),
  an optional list of directories it may still read (the workspace's own metadata), no
  temporary directory, and its configuration locked so no statement can undo any of it.
* **The statements.** :func:`check_read_only` splits a query with DuckDB's own parser and accepts
  only statements that read: ``SELECT`` and what DuckDB parses as one (``WITH``, ``FROM``,
  ``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``), ``EXPLAIN`` of those, and the ``PRAGMA``\\ s
  that only report. Anything else is a :class:`~arco_nb.core.errors.QueryRefused` naming the
  statement type.

DuckDB is imported on first use, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from arco_nb.core.errors import QueryError, QueryRefused

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "READ_ONLY_PRAGMAS",
    "READ_STATEMENTS",
    "check_read_only",
    "query_error",
    "sandboxed_connection",
]

# PRAGMAs that only report; every other PRAGMA changes settings or storage.
READ_ONLY_PRAGMAS = frozenset(
    {
        "collations",
        "database_list",
        "database_size",
        "functions",
        "platform",
        "show_databases",
        "show_tables",
        "show_tables_expanded",
        "table_info",
        "version",
    }
)
READ_STATEMENTS = (
    "Only statements that read are allowed: SELECT (also WITH, FROM, VALUES), DESCRIBE, SHOW, "
    "SUMMARIZE, EXPLAIN and PRAGMA " + ", ".join(sorted(READ_ONLY_PRAGMAS))
)
_MAX_EXPLAIN_DEPTH = 4  # EXPLAIN EXPLAIN ... is legal SQL; bound the recursion anyway


def sandboxed_connection(read_dirs: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read files only below ``read_dirs`` (local paths).

    Arrow tables registered on it (``con.register``) stay readable; nothing else outside the
    database is. The configuration is locked before the connection is returned.
    """
    import duckdb

    con = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "python_enable_replacements": False,
            "temp_directory": "",
        }
    )
    if read_dirs:
        # Trailing separators: "tenants/acme/" must not also admit "tenants/acme2/".
        dirs = [d.rstrip("/") + "/" for d in read_dirs]
        con.execute("SET allowed_directories = ?", [dirs])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def check_read_only(con: duckdb.DuckDBPyConnection, query: str, *, where: str) -> int:
    """Refuse ``query`` unless each of its statements only reads; return how many there are.

    ``con`` parses (DuckDB's own parser, never a regular expression); ``where`` names the
    surface in the error (``"metadata SQL"``).

    Raises
    ------
    QueryError
        If the query does not parse, or holds no statement.
    QueryRefused
        If a statement is not a read (``COPY``, ``ATTACH``, ``SET``, ``PRAGMA threads``, ...).
    """
    statements = _parse(con, query)
    if not statements:
        raise QueryError("The query holds no statement", hint="Write a SELECT")
    for statement in statements:
        _check(con, statement, where, 0)
    return len(statements)


def query_error(exc: Exception, *, where: str, hint: str) -> QueryError | QueryRefused:
    """The Arco error for a DuckDB error raised by a query (its first line, without noise)."""
    import duckdb

    first = str(exc).strip().splitlines()[0].rstrip("!. ") if str(exc).strip() else repr(exc)
    if isinstance(exc, duckdb.PermissionException):
        reason = first.removeprefix("Permission Error: ").split(" - ")[0]
        return QueryRefused(
            "file access",
            where=where,
            detail=f"access outside the sandbox ({reason})",
            allowed="It reaches no file, URL or extension beyond what it was given. " + hint,
        )
    if isinstance(exc, duckdb.InvalidInputException) and "configuration has been locked" in first:
        # Table functions such as enable_logging() try to change settings from a SELECT.
        return QueryRefused(
            "configuration change",
            where=where,
            detail="a change of DuckDB's configuration (it is locked)",
            allowed=READ_STATEMENTS,
        )
    return QueryError(f"SQL error: {first}", hint=hint)


def _parse(con: duckdb.DuckDBPyConnection, query: str) -> list[Any]:
    import duckdb

    if not isinstance(query, str):
        raise QueryError(
            f"A query is text, not {type(query).__name__}", hint="Pass the SQL as a str"
        )
    try:
        query.encode("utf-8")  # DuckDB takes UTF-8; it would raise a bare TypeError
    except UnicodeEncodeError:
        raise QueryError(
            "The query is not valid text: it holds a lone surrogate (U+D800 to U+DFFF)",
            hint="Remove it, or write the character it stands for",
        ) from None
    try:
        return list(con.extract_statements(query))
    except duckdb.Error as exc:
        raise query_error(exc, where="SQL", hint="Check the statement's syntax") from None


def _check(con: duckdb.DuckDBPyConnection, statement: Any, where: str, depth: int) -> None:
    kind = statement.type.name
    if kind == "SELECT":
        return
    if kind == "PRAGMA":
        # Other statements parse as PRAGMAs too (IMPORT DATABASE): only PRAGMA name is judged.
        words = [w.lower() for w in _words(statement.query)[:2]]
        if words[:1] == ["pragma"] and words[1:] and words[1] in READ_ONLY_PRAGMAS:
            return
        raise QueryRefused(" ".join(words).upper(), where=where, allowed=READ_STATEMENTS)
    if kind == "EXPLAIN" and depth < _MAX_EXPLAIN_DEPTH:
        inner = _explained(statement.query)
        statements = _parse(con, inner) if inner.strip() else []
        if len(statements) == 1:
            _check(con, statements[0], where, depth + 1)
            return
    raise QueryRefused(kind.replace("_", " "), where=where, allowed=READ_STATEMENTS)


def _tokens(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each token of ``text``, comments left out (DuckDB's tokenizer)."""
    import duckdb

    raw = duckdb.tokenize(text)
    ends = [start for start, _ in raw[1:]] + [len(text)]
    return [
        (start, text[start:end].strip())
        for (start, kind), end in zip(raw, ends, strict=True)
        if kind != duckdb.token_type.comment
    ]


def _words(text: str) -> list[str]:
    return [word for _, word in _tokens(text)]


def _explained(text: str) -> str:
    """The statement an ``EXPLAIN [(options)] [ANALYZE]`` statement explains (and may run)."""
    tokens = _tokens(text)[1:]  # past EXPLAIN
    i = 0
    if i < len(tokens) and tokens[i][1] == "(":
        depth = 0
        while i < len(tokens):
            depth += tokens[i][1].count("(") - tokens[i][1].count(")")
            i += 1
            if depth <= 0:
                break
    if i < len(tokens) and tokens[i][1].lower() in {"analyze", "analyse"}:
        i += 1
    return text[tokens[i][0] :] if i < len(tokens) else ""
