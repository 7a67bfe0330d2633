# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every parser a user's string reaches, fuzzed: only Arco's own errors may come out.

A user string reaches Arco through the ``%%asset`` line, the ``%arco`` subcommands, the
``arco`` command line, selections, partition ranges and specs, storage options (flags and
``ARCO_STORAGE_OPTIONS``), tenant and workspace ids, object keys, asset names, and the metadata
SQL classifier. Fed arbitrary text and a targeted alphabet of hostile characters (path syntax,
globs, quotes, URL schemes, control characters, bidirectional overrides, lone surrogates), each
may accept the input or refuse it with an :class:`arco_nb.ArcoError` (at the magic boundary an
IPython ``UsageError``, at the command line click's usage error); never a bare ``ValueError``,
``KeyError``, ``TypeError``, ``IndexError``, DuckDB error or anything else.

Examples are few per property (``max_examples``) so the module runs in seconds; the hostile
alphabet makes them count.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from arco_nb import ArcoError
from arco_nb.catalog.model import check_name
from arco_nb.cli.app import _storage_options, cli
from arco_nb.core.sandbox import check_read_only, sandboxed_connection
from arco_nb.core.tenancy import TenantScope, check_id, check_key
from arco_nb.flow.assets import Registry, default_registry, sql_asset
from arco_nb.flow.graph import AssetGraph
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    StaticPartitions,
    parse_partitions,
)
from arco_nb.flow.plan import build_plan
from arco_nb.notebook.arguments import parse_argstring
from arco_nb.notebook.asset_magic import asset_cell
from arco_nb.notebook.commands import load
from tests.core.store_suite import TRAVERSAL_KEYS
from tests.notebook.conftest import TestingShell

# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

HOSTILE_PIECES = [
    "/",
    "\\",
    ".",
    "..",
    "%",
    "%2e",
    "%2f",
    "%25",
    "*",
    "?",
    "[",
    "]",
    ":",
    "::",
    ";",
    "'",
    '"',
    "`",
    "\n",
    "\r",
    "\t",
    "\x00",
    " ",
    "-",
    "--",
    "=",
    ",",
    "+",
    "~",
    "\u202e",  # right-to-left override
    "\u202d",  # left-to-right override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u200f",  # right-to-left mark
    "\ufeff",  # byte order mark
    "\ud800",  # lone surrogates: Python strings may hold them, UTF-8 may not
    "\udcff",
    "\udfff",
    "é",
    "\u0663",  # a digit that is not ASCII
    "s3://",
    "file://",
    "memory://",
    "tag:",
    "daily:",
    "static:",
    "2024-01-01",
    "2024-13",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=3)), max_size=10
).map("".join)
fuzz_text = st.one_of(st.text(max_size=30), hostile_text, st.sampled_from(TRAVERSAL_KEYS))

# Words that steer the parsers into their branches.
FLAG_WORDS = [
    "--deps",
    "--sql",
    "--python",
    "--partitions",
    "--description",
    "--tags",
    "--retries",
    "--no-run",
    "--force",
    "--executor",
    "--tenant",
    "--workspace",
    "--up",
    "--down",
    "--help",
    "-h",
    "inline",
    "dask",
    "-1",
    "99999999999999999999",
    "a",
    "b",
    "regional",
    "+a",
    "a+",
    "tag:t",
    "eu",
    "eu..us",
    "2024-01-01..2024-01-31",
    "daily:2024-01-01",
    "monthly:2024-01",
    "static:eu,us",
    "'quoted words'",
    '"',
]
arg_line = st.lists(
    st.one_of(st.sampled_from(FLAG_WORDS), fuzz_text.filter(lambda s: "\n" not in s)),
    max_size=6,
).map(" ".join)

SQL_WORDS = [
    "select",
    "from",
    "with",
    "as",
    "values",
    "table",
    "copy",
    "to",
    "attach",
    "detach",
    "install",
    "load",
    "set",
    "reset",
    "pragma",
    "call",
    "explain",
    "analyze",
    "describe",
    "show",
    "summarize",
    "export",
    "import",
    "database",
    "create",
    "insert",
    "into",
    "update",
    "delete",
    "drop",
    "alter",
    "checkpoint",
    "vacuum",
    "begin",
    "commit",
    "use",
    "prepare",
    "execute",
    "(",
    ")",
    ";",
    ",",
    "*",
    "1",
    "'x'",
    '"x"',
    "--",
    "/*",
    "*/",
    "$$",
    "read_text('/etc/passwd')",
    "enable_external_access",
    "=",
    "true",
    "threads",
    "version",
    "arco.runs",
]
sql_text = st.one_of(
    st.text(max_size=40),
    hostile_text,
    st.lists(st.one_of(st.sampled_from(SQL_WORDS), hostile_text), max_size=12).map(" ".join),
)

FAST = settings(max_examples=60)
SLOW = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])


def only_arco_errors(call: Callable[[], Any]) -> Any:
    """Call; an ArcoError is a refusal (fine), anything else escapes and fails the test."""
    try:
        return call()
    except ArcoError:
        return None


# --------------------------------------------------------------------------------------------
# Ids, keys, names
# --------------------------------------------------------------------------------------------


@FAST
@given(fuzz_text, st.sampled_from(["tenant", "workspace"]))
def test_check_id(value: str, kind: str) -> None:
    only_arco_errors(lambda: check_id(value, kind=kind))


@FAST
@given(fuzz_text)
def test_check_key(value: str) -> None:
    only_arco_errors(lambda: check_key(value))


@FAST
@given(fuzz_text)
def test_asset_names(value: str) -> None:
    only_arco_errors(lambda: check_name(value, kind="asset"))


@FAST
@given(fuzz_text, fuzz_text, fuzz_text)
def test_tenant_scope(root: str, tenant: str, workspace: str) -> None:
    # The scope only; opening a store on a fuzzed root could touch the network or $HOME.
    only_arco_errors(lambda: TenantScope(f"memory://{root}", tenant=tenant, workspace=workspace))


# --------------------------------------------------------------------------------------------
# Selections, partition ranges and specs, plans
# --------------------------------------------------------------------------------------------


def _graph() -> AssetGraph:
    registry = Registry()
    sql_asset("a", "select 1 as x", tags=["t"], registry=registry)
    sql_asset("b", "select x from a", registry=registry)
    sql_asset("daily_x", "select 1 as x", partitions="daily:2024-01-01", registry=registry)
    sql_asset("monthly_x", "select 1 as x", partitions="monthly:2023-11", registry=registry)
    sql_asset("regional", "select 1 as x", partitions="static:eu,us", registry=registry)
    return AssetGraph(registry)


GRAPH = _graph()
TODAY = dt.date(2024, 3, 1)
selection_text = st.one_of(
    fuzz_text,
    st.lists(
        st.sampled_from(["a", "b", "+", "1", "2+", "tag:", "t", ",", " ", "*", "daily_x"])
    ).map("".join),
)
date_text = st.dates(dt.date(2023, 1, 1), dt.date(2024, 12, 31)).map(dt.date.isoformat)
range_text = st.one_of(
    fuzz_text,
    st.tuples(date_text, st.sampled_from(["..", "...", ".. ", ",", ""]), date_text).map("".join),
    st.lists(st.one_of(date_text, st.sampled_from(["..", ",", "eu", "us", " ", "2024-02"]))).map(
        "".join
    ),
)


@FAST
@given(selection_text)
@example("")
@example(" , ")
def test_selection(selection: str) -> None:
    only_arco_errors(lambda: GRAPH.select(selection))


@FAST
@given(range_text)
@example("2024-02-30..2024-03-01")
@example("2024-01-01..")
def test_partition_ranges(selection: str) -> None:
    for definition in (
        DailyPartitions("2024-01-01"),
        MonthlyPartitions("2023-11"),
        StaticPartitions(["eu", "us"]),
    ):
        only_arco_errors(lambda d=definition: d.select(selection, today=TODAY))  # type: ignore[misc]
        only_arco_errors(lambda d=definition: d.check_key(selection))  # type: ignore[misc]


@FAST
@given(st.sampled_from(["", "daily:", "monthly:", "static:", "hourly:"]), range_text)
@example("monthly:", "\u0662\u0660\u0662\u0664-\u0660\u0661")  # Arabic-Indic digits
@example("daily:", "9999-12-31")
def test_partition_specs(kind: str, rest: str) -> None:
    only_arco_errors(lambda: parse_partitions(kind + rest))


@FAST
@given(st.one_of(st.none(), selection_text), st.one_of(st.none(), range_text), st.booleans())
def test_plans(selection: str | None, partitions: str | None, force: bool) -> None:
    only_arco_errors(
        lambda: build_plan(GRAPH, selection, partitions=partitions, force=force, today=TODAY)
    )


# --------------------------------------------------------------------------------------------
# The metadata SQL classifier
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    con = sandboxed_connection()
    yield con
    con.close()


@FAST
@given(query=sql_text)
@example(query="select 1; copy (select 1) to '/tmp/x'")
@example(query="explain explain explain explain explain select 1")
@example(query="explain (")
@example(query="pragma")
@example(query="select '\ud800'")
def test_metadata_sql_classifier(sandbox: Any, query: str) -> None:
    only_arco_errors(lambda: check_read_only(sandbox, query, where="fuzz"))


# --------------------------------------------------------------------------------------------
# The magics: their argument parsers, then the magics themselves in a real shell
# --------------------------------------------------------------------------------------------


@FAST
@given(arg_line)
@example('x --description "unclosed')
def test_asset_argument_parser(line: str) -> None:
    with contextlib.suppress(UsageError):
        parse_argstring(asset_cell, line)


@FAST
@given(st.sampled_from(["use", "run", "plan", "lineage", "explain", "runs", "history"]), arg_line)
def test_arco_argument_parsers(name: str, line: str) -> None:
    with contextlib.suppress(UsageError):
        parse_argstring(load(name), line)


@pytest.fixture(scope="module")
def magics() -> Iterator[Any]:
    """The extension's magics in a real shell, on a fresh memory:// root (called directly, as
    IPython calls them, so the shell's own $variable expansion stays out of the way)."""
    shell = TestingShell.instance()
    shell.run_cell("%load_ext arco")
    found = next(c for c in shell.configurables if type(c).__name__ == "Arco")
    root = f"memory://fuzz-{uuid.uuid4().hex}"
    found.root, found.tenant, found.workspace, found.sql_sandbox = root, "acme", "main", False
    default_registry.clear()
    found.asset("a --tags t", "select 1 as x")
    found.asset("b", "select x from a")
    found.asset("regional --partitions static:eu,us", "select getvariable('partition_key') as k")
    yield found
    shell.run_cell("%unload_ext arco")
    shell.extension_manager.loaded.discard("arco")
    default_registry.clear()
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in shell.user_ns_hidden:
            del shell.user_ns[name]


def _at_the_magic_boundary(call: Callable[[], Any]) -> None:
    """Only ``UsageError`` (one line) may come out of a magic."""
    try:
        call()
    except UsageError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message.strip(), f"several lines: {message}"


@SLOW
@given(line=arg_line)
@example(line="a --deps a,b")
@example(line="x --partitions daily:2024-02-30")
@example(line="x --description \ud800")
@example(line="x --tags \ud800")
@example(line="\ud800")
def test_asset_magic(magics: Any, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = magics.root
    try:
        _at_the_magic_boundary(lambda: magics.asset(line, "select 1 as x"))
    finally:
        magics.root, magics.tenant, magics.workspace = root, "acme", "main"
    assert "Traceback" not in capsys.readouterr().err


@SLOW
@given(name=st.sampled_from(["run", "plan", "lineage", "explain", "use"]), line=arg_line)
@example(name="run", line="regional --partitions eu..us")
@example(name="explain", line="regional --partitions \ud800")
@example(name="use", line="memory://x --tenant \ud800")
@example(name="lineage", line="a --up -1")
@example(name="run", line='"')
def test_arco_magic(magics: Any, name: str, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    if name == "use":  # a root the fuzzer made up could be a directory in $HOME, or S3
        line = f"memory://fuzz-{uuid.uuid4().hex} {line}"
    root = magics.root
    try:
        _at_the_magic_boundary(lambda: magics.arco(f"{name} {line}"))
    finally:
        magics.root, magics.tenant, magics.workspace = root, "acme", "main"
    assert "Traceback" not in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The command line: global options, storage options (flags and ARCO_STORAGE_OPTIONS)
# --------------------------------------------------------------------------------------------

FSSPEC_KEYS = [
    "auto_mkdir",
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "skip_instance_cache",
    "asynchronous",
    "loop",
    "protocol",
    "fo",
    "target_protocol",
    "key",
    "secret",
    "endpoint_url",
    "anon",
    "client_kwargs",
]
option_text = st.one_of(
    fuzz_text,
    st.tuples(st.sampled_from(FSSPEC_KEYS), st.just("="), fuzz_text).map("".join),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
options_json = st.one_of(
    fuzz_text,
    st.dictionaries(st.one_of(st.sampled_from(FSSPEC_KEYS), st.text(max_size=8)), json_value).map(
        json.dumps
    ),
)


def _cli_boundary(result: Any) -> None:
    """Exit 0 or 2; a refusal is one ``Error:`` line (click's usage errors add a usage line)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in {0, 2}, result.output
    if result.exit_code == 2:
        assert result.stderr.strip().splitlines()[-1].startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def cli_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("fuzz-cli") / "lake")


@FAST
@given(st.lists(option_text, max_size=4).map(tuple))
@example(("=x",))
@example(("key==",))
def test_storage_option_parser(values: tuple[str, ...]) -> None:
    try:
        found = _storage_options(values)
    except click.BadParameter:
        return
    assert all(key and isinstance(value, str) for key, value in found.items())


@SLOW
@given(st.lists(option_text, min_size=1, max_size=3))
@example(["listings_expiry_time=soon"])
@example(["auto_mkdir=\ud800"])
@example(["=x"])
@example(["protocol=\r0"])  # once printed the message over two lines
def test_storage_option_flags(cli_root: str, values: list[str]) -> None:
    flags = [arg for value in values for arg in ("--storage-option", value)]
    result = CliRunner().invoke(cli, ["--root", cli_root, *flags, "assets"])
    _cli_boundary(result)


@SLOW
@given(options_json)
@example('{"listings_expiry_time": "soon"}')
@example('{"auto_mkdir": []}')
@example("[1]")
@example('{"fo": "memory://elsewhere"}')
def test_storage_options_from_the_environment(cli_root: str, text: str) -> None:
    def open_and_read() -> None:
        store = TenantScope.from_env(cli_root, environ={"ARCO_STORAGE_OPTIONS": text}).store()
        store.exists("probe")
        store.list("")

    only_arco_errors(open_and_read)
    try:
        if b"\x00" in os.fsencode(text):
            return  # no environment variable can hold a NUL
    except UnicodeEncodeError:
        return  # nor a surrogate that stands for no byte (only \udc80-\udcff do)
    result = CliRunner().invoke(
        cli, ["--root", cli_root, "assets"], env={"ARCO_STORAGE_OPTIONS": text}
    )
    _cli_boundary(result)


@SLOW
@given(st.sampled_from(["--tenant", "--workspace"]), fuzz_text)
def test_id_flags(cli_root: str, flag: str, value: str) -> None:
    result = CliRunner().invoke(cli, ["--root", cli_root, flag, value, "assets"])
    _cli_boundary(result)
    assert not Path(cli_root).exists()  # listing assets writes nothing, whatever the ids


@SLOW
@given(st.sampled_from(["plan", "explain", "lineage", "show", "runs --asset", "sql"]), fuzz_text)
@example("sql", "select '\ud800'")
@example("show", "\udcff")
def test_command_arguments(cli_root: str, command: str, value: str) -> None:
    default_registry.clear()
    result = CliRunner().invoke(cli, ["--root", cli_root, *command.split(), value])
    _cli_boundary(result)
