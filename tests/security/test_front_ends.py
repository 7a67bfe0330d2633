# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The threat model, attacked through the front ends: the notebook magics and the ``arco`` CLI.

Two tenants share one root, on local disk and on a real moto S3 server. ``globex`` has real
content: a namespace, a SQL and a Python asset materialized, and events both compacted and still
in the inbox. ``acme`` has a namespace and two assets of its own. Then, as ``acme``:

* metadata SQL (``%arco sql``, ``%%arco sql``, ``arco sql`` in this process and in a real
  subprocess) tries to read globex's files, ``/etc/passwd``, write over globex's data, attach,
  create, install, reconfigure, and hide a write behind a read. Each attempt is refused in one
  line that names the refusal, and no object anywhere changes (sha256 of every object);
* a SQL asset reading globex's data fails in the SQL sandbox (``%config Arco.sql_sandbox``,
  ``arco --sql-sandbox run``, ``ARCO_SQL_SANDBOX=1``) and leaks nothing; with the sandbox off, a
  personal notebook reads local files, as documented;
* the hostile strings of ``tests/core`` go into every id, name and partition argument: each is one
  line (``UsageError`` / exit code 2), and nothing is written, in the root or beside it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from IPython.core.error import UsageError

from arco_nb import Workspace
from arco_nb.cli.app import cli
from arco_nb.core.syncer import drain
from arco_nb.flow.assets import Registry, asset, default_registry, sql_asset
from tests.cli.conftest import run_arco
from tests.conftest import S3Endpoint
from tests.core.store_suite import TRAVERSAL_KEYS  # the hostile strings test_tenancy.py uses
from tests.notebook.conftest import TestingShell

HOSTILE = tuple(TRAVERSAL_KEYS)
# Names are refused before any storage is touched, the same on every backend: local roots try
# every string, S3 (where each CLI call reopens the workspace over the network) a spread of them.
HOSTILE_SAMPLE = HOSTILE[::4]


def _hostile(lake: Lake) -> tuple[str, ...]:
    return HOSTILE_SAMPLE if lake.kind == "s3" else HOSTILE


SECRET = "globex-secret-4711"  # in globex's data; must never reach acme's output
GLOBEX = "tenants/globex/workspaces/default"
ACME = "tenants/acme/workspaces/default"
FILE_ACCESS = "refused access outside the sandbox"
UNTYPEABLE = ("\n", "\r", "\x00")  # a notebook line cannot hold these; call the magic directly


def ledger_total(ledger: pl.DataFrame) -> pl.DataFrame:
    """globex's Python asset."""
    return ledger.select(pl.col("amount").sum().alias("total"))


# --------------------------------------------------------------------------------------------
# The lake: one root, two tenants, and a fingerprint of everything in and beside it
# --------------------------------------------------------------------------------------------


@dataclass
class Lake:
    """A root shared by acme and globex, the filesystem that sees it, and globex's files."""

    kind: str  # "local" or "s3"
    root: str  # as --root and Workspace take it
    base: Path  # a local directory: the root's parent (local) and the working directory
    fs: Any
    root_path: str  # the root as ``fs`` names it
    options: dict[str, Any] = field(default_factory=dict)
    bucket: str = ""
    targets: dict[str, str] = field(default_factory=dict)  # as SQL names them

    @property
    def cwd(self) -> Path:
        return self.base / "cwd"

    @property
    def env(self) -> dict[str, str]:
        return {"ARCO_STORAGE_OPTIONS": json.dumps(self.options)} if self.options else {}

    def url(self, path: str) -> str:
        """``fs``'s name of an object as a SQL query names it (an s3:// URL on S3)."""
        return f"s3://{path}" if self.kind == "s3" else path

    def objects(self) -> dict[str, str]:
        """sha256 of every object under the root, by key relative to the root."""
        assert drain(), "best-effort writes of this process (log hints) settle first"
        self.fs.invalidate_cache()
        found = self.fs.find(self.root_path, withdirs=True, detail=True)
        files = [p for p, info in found.items() if info["type"] != "directory"]
        blobs = self.fs.cat(files) if files else {}
        digests = {p: hashlib.sha256(blobs[p]).hexdigest() for p in files}
        prefix = self.root_path.rstrip("/") + "/"
        return {
            p.removeprefix(prefix): digests.get(p, "directory")
            for p, info in found.items()
            if p != self.root_path.rstrip("/")
        }

    def beside(self) -> dict[str, str]:
        """Everything outside the root: the local parent directory (with the working
        directory), and on S3 the rest of the bucket (size and ETag)."""
        local = fsspec.filesystem("file")
        seen = {}
        root = self.root_path.rstrip("/") if self.kind == "local" else None
        for path, info in local.find(str(self.base), withdirs=True, detail=True).items():
            if root and (path == root or path.startswith(root + "/")):
                continue
            if info["type"] == "directory":
                seen[f"local:{path}"] = "directory"
            else:
                seen[f"local:{path}"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if self.kind == "s3":
            self.fs.invalidate_cache()
            for path, info in self.fs.find(self.bucket, detail=True).items():
                if not path.startswith(self.root_path.rstrip("/") + "/"):
                    seen[f"s3:{path}"] = f"{info.get('size')}:{info.get('ETag')}"
        return seen

    def state(self, *, ignore: str | None = None) -> dict[str, str]:
        """Everything in and beside the root, without the objects under ``ignore``."""
        inside = {
            f"root:{k}": v
            for k, v in self.objects().items()
            if ignore is None or not (k == ignore or k.startswith(ignore + "/"))
        }
        return inside | self.beside()


def _diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changes = [f"added {k}" for k in sorted(after.keys() - before.keys())]
    changes += [f"removed {k}" for k in sorted(before.keys() - after.keys())]
    changes += [
        f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]
    ]
    return changes


def _populate(root: str, options: dict[str, Any]) -> None:
    """globex: a namespace, a SQL and a Python asset, events compacted and not. acme: its own."""
    registry = Registry()
    globex = Workspace(
        root, tenant="globex", storage_options=options, sandbox=False, registry=registry
    )
    globex.catalog.create_namespace("treasury", description="globex's own")
    sql_asset("ledger", f"select '{SECRET}' as secret, 4711 as amount", registry=registry)
    asset(registry=registry)(ledger_total)
    assert globex.run().status == "succeeded"
    globex.compact()
    assert globex.run(force=True).status == "succeeded"  # stays in the inbox
    globex.catalog.checkpoint()  # its catalog as Parquet snapshot files, a target too
    registry = Registry()
    acme = Workspace(root, tenant="acme", storage_options=options, sandbox=False, registry=registry)
    acme.catalog.create_namespace("sales")
    sql_asset("orders", "select 1 as n", registry=registry)
    sql_asset(
        "regional",
        "select getvariable('partition_key') as region",
        partitions="static:eu,us",
        registry=registry,
    )
    assert acme.run().status == "succeeded"


def _targets(lake: Lake) -> dict[str, str]:
    objects = lake.objects()

    def first(under: str, suffix: str) -> str:
        found = sorted(
            k for k in objects if k.startswith(f"{GLOBEX}/{under}/") and k.endswith(suffix)
        )
        assert found, f"globex has no {under}/*{suffix}"
        return lake.url(f"{lake.root_path}/{found[0]}")

    return {
        "data": first("data/ledger", ".parquet"),
        "compacted": first("events/compacted", ".parquet"),
        "inbox": first("events/inbox", ".json"),
        "snapshot": first("catalog/snapshots", ".parquet"),
        "globex": lake.url(f"{lake.root_path}/{GLOBEX}"),
        "own": lake.url(f"{lake.root_path}/{ACME}/catalog/snapshots"),
        "relative": "../../../../globex/workspaces/default",
    }


def _lake(kind: str, base: Path, root: str, fs: Any, root_path: str, **kw: Any) -> Lake:
    (base / "cwd").mkdir()
    lake = Lake(kind, root, base, fs, root_path, **kw)
    _populate(root, lake.options)
    lake.targets = _targets(lake)
    return lake


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    base = tmp_path_factory.mktemp("front-ends")
    root = str(base / "lake")
    return _lake("local", base, root, fsspec.filesystem("file"), root)


@pytest.fixture(scope="module")
def s3_lake(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: S3Endpoint) -> Lake:
    base = tmp_path_factory.mktemp("front-ends-s3")
    root = s3_endpoint.url(f"front-ends-{uuid.uuid4().hex}")
    options = dict(s3_endpoint.storage_options)
    fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False, **options)
    return _lake(
        "s3", base, root, fs, root.removeprefix("s3://"), options=options, bucket=s3_endpoint.bucket
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def lake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """The shared lake, with the working directory beside the root and storage options in the
    environment (as `arco run` hands them to a notebook kernel)."""
    found: Lake = request.getfixturevalue(f"{request.param}_lake")
    monkeypatch.chdir(found.cwd)
    for name, value in found.env.items():
        monkeypatch.setenv(name, value)
    default_registry.clear()
    yield found
    default_registry.clear()


@pytest.fixture
def ip(lake: Lake) -> Iterator[TestingShell]:
    """A real IPython shell with the extension loaded, as acme on the lake."""
    shell = TestingShell.instance()
    saved = copy.deepcopy(shell.config)  # %config writes to the shell's config: undo it after
    shell.run_cell("%load_ext arco")
    shell.run_cell(f"%config Arco.root = {lake.root!r}")
    shell.run_cell("%config Arco.tenant = 'acme'")
    yield shell
    shell.run_cell("%unload_ext arco")
    shell.extension_manager.loaded.discard("arco")
    shell.config.clear()
    shell.config.update(saved)
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in shell.user_ns_hidden:
            del shell.user_ns[name]


def _scratch() -> str:
    """A fresh acme workspace for a test that must write (a failed run is recorded)."""
    return f"scratch-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------------------------
# How a refusal must look at each boundary
# --------------------------------------------------------------------------------------------


def _magic_problem(
    ip: TestingShell,
    capsys: pytest.CaptureFixture[str],
    magic: str,
    line: str,
    body: str | None = None,
    *,
    direct: bool = False,
) -> tuple[str | None, str]:
    """Run ``%magic line`` (or ``%%magic line`` over ``body``) as a cell, or with ``direct``
    as a call of the magic (what no cell can hold: a newline or NUL in the line).

    Returns (what is wrong, or None; the UsageError's message).
    """
    capsys.readouterr()
    try:
        if direct and body is None:
            ip.run_line_magic(magic, line)
        elif direct:
            ip.run_cell_magic(magic, line, body or "")
        elif body is None:
            ip.run_cell(f"%{magic} {line}")
        else:
            ip.run_cell(f"%%{magic} {line}\n{body}")
    except UsageError as exc:
        message = str(exc)
    except BaseException as exc:  # the point is to see what escaped
        return f"{type(exc).__name__} escaped: {exc!r}", ""
    else:
        return "no error", ""
    out, err = capsys.readouterr()
    if "\n" in message.strip():
        return f"the UsageError has several lines: {message!r}", message
    if "Traceback" in out + err:
        return f"a traceback was shown: {out + err!r}", message
    if not direct and err.strip().splitlines() != [f"UsageError: {message}"]:
        return f"the cell showed {err!r}, not one UsageError line", message
    return None, message


def _cli_problem(result: Result) -> tuple[str | None, str]:
    """(what is wrong with an ``arco`` run that should have refused, or None; its message)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"{type(result.exception).__name__} escaped: {result.exception!r}", ""
    lines = result.stderr.splitlines()
    message = lines[0] if lines else ""
    if result.exit_code != 2:
        return f"exit code {result.exit_code}: {result.output!r}", message
    if result.stdout or len(lines) != 1 or not message.startswith("Error: "):
        return f"not one 'Error:' line: stdout {result.stdout!r}, stderr {result.stderr!r}", message
    return None, message


def _arco(lake: Lake, *args: str, env: dict[str, str] | None = None) -> Result:
    """``arco --root ROOT ...`` through click's runner, as a fresh process would run it."""
    default_registry.clear()
    return CliRunner().invoke(cli, ["--root", lake.root, *args], env=env, catch_exceptions=True)


def _run_arco_bytes(*args: str | bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``python -m arco_nb.cli`` given raw bytes, as a shell hands them over."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCO_")}
    return subprocess.run(
        [sys.executable, "-m", "arco_nb.cli", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def _untouched(lake: Lake, before: dict[str, str], *, ignore: str | None = None) -> None:
    changes = _diff(before, lake.state(ignore=ignore))
    assert changes == [], f"{len(changes)} objects changed: {changes[:10]}"


# --------------------------------------------------------------------------------------------
# Metadata SQL: every attack refused, in one line, nothing changed
# --------------------------------------------------------------------------------------------

_STATEMENT = "refused the {} statement"
ATTACKS: dict[str, tuple[str, str]] = {
    # name: (query, what the refusal says)
    "read_parquet globex data": ("select * from read_parquet('{data}')", FILE_ACCESS),
    "read_parquet globex compacted": ("select * from read_parquet('{compacted}')", FILE_ACCESS),
    "read_parquet globex snapshot": ("select * from read_parquet('{snapshot}')", FILE_ACCESS),
    "replacement scan": ("select * from '{data}'", FILE_ACCESS),
    "read_text globex inbox": ("select content from read_text('{inbox}')", FILE_ACCESS),
    "read_json_auto globex inbox": ("select * from read_json_auto('{inbox}')", FILE_ACCESS),
    "glob globex": ("select file from glob('{globex}/**')", FILE_ACCESS),
    "traversal from own metadata": (
        "select * from read_parquet('{own}/{relative}/data/ledger/*/*.parquet')",
        FILE_ACCESS,
    ),
    "/etc/passwd": ("select content from read_text('/etc/passwd')", FILE_ACCESS),
    "copy over globex data": (
        "copy (select 'pwned' as secret) to '{data}' (format parquet)",
        _STATEMENT.format("COPY"),
    ),
    "attach": ("attach '{globex}/evil.duckdb' as evil", _STATEMENT.format("ATTACH")),
    "create table": ("create table evil as select 42 as x", _STATEMENT.format("CREATE")),
    "install httpfs": ("install httpfs", "refused the (INSTALL|LOAD) statement"),
    "set external access": ("set enable_external_access = true", _STATEMENT.format("SET")),
    "write behind a read": (
        "select 1 as x; copy (select 'pwned' as secret) to '{data}' (format parquet)",
        _STATEMENT.format("COPY"),
    ),
}


def _attacks(lake: Lake) -> Iterator[tuple[str, str, str]]:
    for name, (query, refusal) in ATTACKS.items():
        yield name, query.format(**lake.targets), refusal


def _multiline(query: str) -> str:
    """The query as someone writes it in a ``%%arco sql`` cell."""
    return re.sub(r" (from|to|as) ", r"\n  \1 ", query).replace("; ", ";\n")


def _check_refusal(
    problems: list[str], name: str, refusal: str, problem: str | None, message: str
) -> None:
    if problem is not None:
        problems.append(f"{name}: {problem}")
    elif re.search(refusal, message) is None:
        problems.append(f"{name}: the refusal does not say {refusal!r}: {message!r}")
    if SECRET in message:
        problems.append(f"{name}: globex's data in the message: {message!r}")


def test_line_magic_sql_attacks_are_refused(
    lake: Lake, ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    before = lake.state()
    problems: list[str] = []
    for name, query, refusal in _attacks(lake):
        problem, message = _magic_problem(ip, capsys, "arco", f"sql {query}")
        _check_refusal(problems, name, refusal, problem, message)
    assert problems == []
    _untouched(lake, before)


def test_cell_magic_sql_attacks_are_refused(
    lake: Lake, ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    before = lake.state()
    problems: list[str] = []
    for name, query, refusal in _attacks(lake):
        problem, message = _magic_problem(ip, capsys, "arco", "sql", f"{_multiline(query)}\n")
        _check_refusal(problems, name, refusal, problem, message)
    assert problems == []
    _untouched(lake, before)


def test_cli_sql_attacks_are_refused(lake: Lake) -> None:
    before = lake.state()
    problems: list[str] = []
    for name, query, refusal in _attacks(lake):
        problem, message = _cli_problem(_arco(lake, "--tenant", "acme", "sql", query))
        _check_refusal(problems, name, refusal, problem, message)
    assert problems == []
    _untouched(lake, before)


def test_metadata_sql_still_answers_acme(lake: Lake, ip: TestingShell) -> None:
    """The control: the same front ends do run acme's own reads (so refusals above mean
    something), and acme sees its own runs and not globex's."""
    frame = ip.out("%arco sql select count(*) as n from arco.namespaces where name = 'treasury'")
    assert frame["n"].to_list() == [0]
    result = _arco(
        lake, "--tenant", "acme", "sql", "select name from arco.assets order by 1", "--csv"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["name", "orders", "regional"]


@pytest.mark.slow
def test_cli_sql_attack_in_a_real_process(lake: Lake) -> None:
    """``python -m arco_nb.cli``: the error handling of a real process, not click's runner."""
    before = lake.state()
    query = ATTACKS["write behind a read"][0].format(**lake.targets)
    done = run_arco("--root", lake.root, "--tenant", "acme", "sql", query, cwd=lake.cwd)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: Metadata SQL refused the COPY statement")
    read = ATTACKS["read_parquet globex data"][0].format(**lake.targets)
    done = run_arco("--root", lake.root, "--tenant", "acme", "sql", read, cwd=lake.cwd)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert FILE_ACCESS in done.stderr
    assert SECRET not in done.stdout + done.stderr
    _untouched(lake, before)


# --------------------------------------------------------------------------------------------
# SQL assets: sandboxed on request; a personal notebook is not a sandbox
# --------------------------------------------------------------------------------------------


def test_sandboxed_asset_cell_cannot_read_globex(
    lake: Lake, ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = _scratch()
    ip.run_cell(f"%config Arco.workspace = {workspace!r}")
    ip.run_cell("%config Arco.sql_sandbox = True")
    before = lake.state(ignore=f"tenants/acme/workspaces/{workspace}")
    capsys.readouterr()
    cell = f"%%asset peek --sql\nselect * from read_parquet('{lake.targets['data']}')\n"
    with pytest.raises(UsageError) as info:
        ip.run_cell(cell)
    out, err = capsys.readouterr()
    message = str(info.value)
    assert "\n" not in message
    assert re.fullmatch(r"Run \S+ failed: peek failed\. .*", message), message
    assert FILE_ACCESS in err  # the failed task's own error, shown above the one line
    assert "Traceback" not in out + err
    assert SECRET not in out + err + message
    assert "peek" not in ip.user_ns
    _untouched(lake, before, ignore=f"tenants/acme/workspaces/{workspace}")
    written = lake.objects()
    assert not [k for k in written if k.startswith(f"tenants/acme/workspaces/{workspace}/data/")]


def test_personal_notebook_reads_local_files_without_the_sandbox(
    lake: Lake, ip: TestingShell, tmp_path: Path
) -> None:
    """Documented: the SQL sandbox is off by default in a personal notebook, whose user can
    run any Python anyway; a SQL cell there reads a local file outside the root."""
    outside = tmp_path / "mine.parquet"
    pq.write_table(pa.table({"note": ["my own file"]}), outside)
    ip.run_cell(f"%config Arco.workspace = {_scratch()!r}")
    assert ip.out("%config Arco.sql_sandbox") is False
    preview = ip.out(f"%%asset mine --sql\nselect * from read_parquet('{outside}')\n")
    assert preview.rows == 1
    assert ip.user_ns["mine"]["note"].to_list() == ["my own file"]


PEEK_MODULE = """
import arco

arco.sql_asset("peek", "select * from read_parquet('{data}')")
"""


def _peek_module(lake: Lake, tmp_path: Path) -> Path:
    path = tmp_path / "peek.py"
    path.write_text(PEEK_MODULE.format(data=lake.targets["data"]))
    return path


@pytest.mark.parametrize("how", ["--sql-sandbox", "ARCO_SQL_SANDBOX=1"])
def test_cli_run_in_the_sandbox_cannot_read_globex(lake: Lake, tmp_path: Path, how: str) -> None:
    module = _peek_module(lake, tmp_path)
    workspace = _scratch()
    ignore = f"tenants/acme/workspaces/{workspace}"
    before = lake.state(ignore=ignore)
    flags = ["--sql-sandbox"] if how == "--sql-sandbox" else []
    env = {"ARCO_SQL_SANDBOX": "1"} if how != "--sql-sandbox" else None
    result = _arco(
        lake, *flags, "--tenant", "acme", "--workspace", workspace, "run", str(module), env=env
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert FILE_ACCESS in result.stderr
    assert SECRET not in result.output
    assert re.search(r"Run \S+ failed", result.stdout)
    _untouched(lake, before, ignore=ignore)
    assert not [k for k in lake.objects() if k.startswith(f"{ignore}/data/")]


@pytest.mark.slow
def test_cli_run_in_the_sandbox_in_a_real_process(lake: Lake, tmp_path: Path) -> None:
    module = _peek_module(lake, tmp_path)
    workspace = _scratch()
    ignore = f"tenants/acme/workspaces/{workspace}"
    before = lake.state(ignore=ignore)
    args = ["--root", lake.root, "--sql-sandbox", "--tenant", "acme", "--workspace", workspace]
    done = run_arco(*args, "run", str(module), cwd=lake.cwd)
    assert done.returncode == 1, done.stderr
    assert FILE_ACCESS in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    _untouched(lake, before, ignore=ignore)


def test_cli_run_without_the_sandbox_reads_what_the_user_can(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the two tests above: the same module, sandbox off (the default), does
    read the file — so their failures are the sandbox's doing. On a local root the user's own
    process can read the whole disk anyway; that is what ``--sql-sandbox`` is for."""
    monkeypatch.chdir(local_lake.cwd)
    module = _peek_module(local_lake, tmp_path)
    workspace = _scratch()
    result = _arco(local_lake, "--tenant", "acme", "--workspace", workspace, "run", str(module))
    assert result.exit_code == 0, result.output
    ws = Workspace(local_lake.root, tenant="acme", workspace=workspace, storage_options={})
    assert ws.read("peek").column("secret").to_pylist() == [SECRET]


# --------------------------------------------------------------------------------------------
# Hostile ids, names and partitions: one line each, nothing written anywhere
# --------------------------------------------------------------------------------------------

MAGIC_SURFACES: dict[str, tuple[str, str, str | None]] = {
    # (magic, its line with {x} for the hostile string, the cell's body)
    "%arco use ROOT --tenant X": ("arco", "use {root} --tenant {x}", None),
    "%arco use ROOT --workspace X": ("arco", "use {root} --workspace {x}", None),
    "%%asset X": ("asset", "{x}", "select 1 as x\n"),
    "%%asset NAME --partitions X": ("asset", "fresh --partitions {x}", "select 1 as x\n"),
    "%arco lineage X": ("arco", "lineage {x}", None),
    "%arco explain X": ("arco", "explain {x}", None),
    "%arco plan SEL --partitions X": ("arco", "plan regional --partitions {x}", None),
    "%arco run SEL --partitions X": ("arco", "run regional --partitions {x}", None),
}

CLI_SURFACES: dict[str, list[str]] = {  # "{x}": the hostile string
    "--tenant X": ["--tenant", "{x}", "assets"],
    "--workspace X": ["--tenant", "acme", "--workspace", "{x}", "assets"],
    "show X": ["--tenant", "acme", "show", "{x}"],
    "lineage X": ["--tenant", "acme", "lineage", "{x}"],
    "explain X": ["--tenant", "acme", "explain", "{x}"],
    "plan SEL --partitions X": ["--tenant", "acme", "plan", "regional", "--partitions", "{x}"],
    "explain NAME --partitions X": [
        "--tenant",
        "acme",
        "explain",
        "regional",
        "--partitions",
        "{x}",
    ],
    # --force: a partition that got through would be materialized, and the fingerprint see it
    "run --select SEL --partitions X": [
        *("--tenant", "acme", "run", "--select", "regional", "--partitions", "{x}", "--force"),
    ],
}


@pytest.mark.parametrize("surface", list(MAGIC_SURFACES))
def test_hostile_strings_in_magics(
    lake: Lake, ip: TestingShell, capsys: pytest.CaptureFixture[str], surface: str
) -> None:
    before = lake.state()
    problems = []
    for hostile in _hostile(lake):
        magic, template, body = MAGIC_SURFACES[surface]
        line = template.format(root=lake.root, x=hostile)
        typeable = not any(c in hostile for c in UNTYPEABLE)
        problem, _ = _magic_problem(ip, capsys, magic, line, body, direct=not typeable)
        if problem is not None:
            problems.append(f"{hostile!r}: {problem}")
        # Whatever happened, the next string starts from acme's workspace again.
        ip.run_cell(f"%config Arco.root = {lake.root!r}")
        ip.run_cell("%config Arco.tenant = 'acme'")
        ip.run_cell("%config Arco.workspace = 'default'")
    assert problems == []
    _untouched(lake, before)


@pytest.mark.parametrize("surface", list(CLI_SURFACES))
def test_hostile_strings_on_the_command_line(lake: Lake, surface: str) -> None:
    before = lake.state()
    problems = []
    for hostile in _hostile(lake):
        args = [hostile if arg == "{x}" else arg for arg in CLI_SURFACES[surface]]
        problem, _ = _cli_problem(_arco(lake, *args))
        if problem is not None:
            problems.append(f"{hostile!r}: {problem}")
    assert problems == []
    _untouched(lake, before)


@pytest.mark.slow
def test_undecodable_argument_in_a_real_process(local_lake: Lake) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (``surrogateescape``): the
    hostile list's ``a/\\ud800``, as a shell really passes it."""
    before = local_lake.state()
    for args in (["show", b"a/\xff"], ["--tenant", b"\xff", "assets"], ["explain", b"a\xff"]):
        done = _run_arco_bytes(
            "--root", local_lake.root, "--tenant", "acme", *args, cwd=local_lake.cwd
        )
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(b"Error: "), done.stderr
    _untouched(local_lake, before)


# --------------------------------------------------------------------------------------------
# Quoting: an argument written in quotes means the same as without them
# --------------------------------------------------------------------------------------------


def test_quoted_root_in_arco_use_goes_where_it_says(lake: Lake, ip: TestingShell) -> None:
    """``%arco use 'ROOT'``: IPython keeps the quotes; taken literally they made a new root
    named ``'ROOT'`` in the working directory, and the next cell wrote its data there."""
    workspace = _scratch()
    before = lake.beside()
    message = ip.out(f"%arco use '{lake.root}' --tenant 'acme' --workspace \"{workspace}\"")
    assert str(message) == (
        f"Arco metadata now in {lake.root} (tenant acme, workspace {workspace}), "
        "from this notebook's setting (%arco use, %config Arco.root)"
    )
    ip.out('%%asset quoted --description "in quotes"\nselect 1 as x\n')
    assert _diff(before, lake.beside()) == []  # nothing in the working directory
    mine = f"tenants/acme/workspaces/{workspace}"
    assert [k for k in lake.objects() if k.startswith(f"{mine}/data/quoted/")]
    frame = ip.out("%arco sql select description from arco.assets where name = 'quoted'")
    assert frame["description"].to_list() == ["in quotes"]
