# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

from pathlib import Path

import pytest

from arco_nb import AssetDefinitionError, AssetNotFound
from arco_nb.flow.assets import (
    AssetSpec,
    Registry,
    asset,
    default_registry,
    normalise_code,
    sql_asset,
    sql_table_refs,
)


def test_python_asset_deps_come_from_parameters(registry: Registry) -> None:
    @asset(registry=registry, tags=["b", "a", "a"], retries=2)
    def orders_clean(orders, customers):  # type: ignore[no-untyped-def]
        """Orders with a positive amount."""
        return orders

    spec = registry.get("orders_clean")
    assert spec.kind == "python"
    assert spec.deps == ("orders", "customers")
    assert spec.tags == ("a", "b")
    assert spec.retries == 2
    assert spec.description == "Orders with a positive amount."
    assert spec.fn is orders_clean
    assert orders_clean.__arco_asset__ is spec  # type: ignore[attr-defined]
    assert orders_clean(1, 2) == 1, "the function stays callable"


def test_bare_decorator_uses_the_default_registry() -> None:
    @asset
    def raw():  # type: ignore[no-untyped-def]
        return None

    assert default_registry.get("raw").deps == ()
    assert "raw" in default_registry
    assert len(default_registry) == 1


def test_declared_deps_and_name_override(registry: Registry) -> None:
    @asset(name="renamed", deps=["x"], registry=registry)
    def f(data):  # type: ignore[no-untyped-def]
        return data

    assert registry.get("renamed").deps == ("x",)


def test_code_version_ignores_formatting_comments_and_docstrings() -> None:
    a = "def f(x):\n    return x + 1\n"
    b = 'def f(x):\n    """Docs."""\n    # a comment\n    return (x +\n        1)\n'
    c = "def f(x):\n    return x + 2\n"
    assert normalise_code("python", a) == normalise_code("python", b)
    assert normalise_code("python", a) != normalise_code("python", c)
    sql1 = "select a,\n  b from t -- comment\n"
    sql2 = "SELECT a, /* why */ b FROM t"
    assert normalise_code("sql", sql1) == normalise_code("sql", sql2)
    assert normalise_code("sql", "select 'A'") != normalise_code("sql", "select 'a'")
    spec = AssetSpec("x", "sql", sql1)
    assert len(spec.code_version) == 16
    assert spec.code_version != AssetSpec("x", "sql", "select 1").code_version
    assert spec.code_version != AssetSpec("x", "sql", sql1, partitions="daily").code_version


def test_sql_assets_infer_deps_from_duckdbs_parser(registry: Registry) -> None:
    spec = sql_asset(
        "orders_clean",
        """
        WITH recent AS (SELECT * FROM Orders WHERE day > '2024-01-01')
        SELECT r.*, c.name FROM recent r JOIN main.customers c USING (customer_id)
        WHERE r.id NOT IN (SELECT id FROM refunds)
        """,
        registry=registry,
    )
    assert spec.deps == ("customers", "orders", "refunds")
    assert sql_table_refs("select * from read_parquet('nowhere/*.parquet')") == set()
    record = spec.to_record()
    assert (record.name, record.kind, record.code_version) == (
        "orders_clean",
        "sql",
        spec.code_version,
    )


def test_sql_syntax_errors_are_definition_errors(registry: Registry) -> None:
    with pytest.raises(AssetDefinitionError, match="'broken': SQL does not parse") as info:
        sql_asset("broken", "selec * fro orders", registry=registry)
    assert info.value.asset == "broken"
    assert "broken" not in registry


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"deps": "orders"}, "deps must be a list"),
        ({"retries": -1}, "retries must be"),
        ({"retries": True}, "retries must be"),
        ({"retry_delay": -1}, "retry_delay must be seconds"),
        ({"retry_delay": "1s"}, "retry_delay must be seconds"),
        ({"partitions": "daily:yesterday"}, "Write dates as YYYY-MM-DD"),
        ({"partitions": "hourly"}, "Cannot read partitions"),
    ],
)
def test_bad_options(registry: Registry, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AssetDefinitionError, match=message):
        sql_asset("x", "select 1", registry=registry, **kwargs)  # type: ignore[arg-type]


def test_bad_names(registry: Registry) -> None:
    with pytest.raises(AssetDefinitionError, match="not a valid asset name"):
        sql_asset("bad-name", "select 1", registry=registry)


def test_registry(registry: Registry) -> None:
    sql_asset("b", "select 1", registry=registry)
    sql_asset("a", "select 2", registry=registry)
    assert [s.name for s in registry] == ["a", "b"]
    sql_asset("a", "select 3", registry=registry)
    assert registry.get("a").code == "select 3"
    with pytest.raises(AssetNotFound, match="Did you mean 'a'"):
        registry.get("aa")
    registry.remove("a")
    registry.remove("a")
    assert [s.name for s in registry] == ["b"]


SOURCELESS = """
import pyarrow as pa
from arco_nb import asset

def make(registry):
    asset(lambda: pa.table({"x": [FACTOR]}), name="base", registry=registry)
    asset(lambda base: base, name="copy", deps=["base"], registry=registry)
"""


def _sourceless(registry: Registry, factor: int) -> None:
    namespace: dict[str, object] = {}
    source = SOURCELESS.replace("FACTOR", str(factor))
    exec(compile(source, "<typed in>", "exec"), namespace)  # no source kept, as in a REPL
    namespace["make"](registry)  # type: ignore[operator]


def test_functions_without_source_run_and_their_edits_change_the_version(tmp_path: Path) -> None:
    """A lambda defined where no source is kept (``python -`` , ``exec``) is an asset like
    any other: its version comes from its compiled code, so an edit still re-runs it."""
    from arco_nb import Workspace

    first, edited = Registry(), Registry()
    _sourceless(first, 1)
    _sourceless(edited, 2)
    assert first.get("copy").code_version == edited.get("copy").code_version
    assert first.get("base").code_version != edited.get("base").code_version

    result = Workspace(str(tmp_path), registry=first).run()
    assert result.status == "succeeded"
    assert Workspace(str(tmp_path), registry=edited).read("copy").to_pydict() == {"x": [1]}
    assert Workspace(str(tmp_path), registry=edited).run().status == "succeeded"
    assert Workspace(str(tmp_path), registry=edited).read("copy").to_pydict() == {"x": [2]}
