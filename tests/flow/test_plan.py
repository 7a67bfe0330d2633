# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb import AssetNotFound, Workspace
from arco_nb.catalog.events import Event
from arco_nb.flow.assets import AssetSpec, Registry, sql_asset
from arco_nb.flow.graph import AssetGraph
from arco_nb.flow.plan import build_plan
from arco_nb.flow.status import LatestMaterialization


def _specs(code: dict[str, str] | None = None) -> list[AssetSpec]:
    code = code or {}
    return [
        AssetSpec("raw", "sql", code.get("raw", "select 1 as x")),
        AssetSpec("clean", "sql", code.get("clean", "select * from raw"), deps=("raw",)),
        AssetSpec("report", "sql", code.get("report", "select * from clean"), deps=("clean",)),
    ]


def _materialized(plan_tasks: object) -> dict[tuple[str, str], LatestMaterialization]:
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return {
        (t.asset, t.partition): LatestMaterialization(
            t.asset, t.partition, f"m_{t.asset}", t.fingerprint, t.code_version, 1, at, "run"
        )
        for t in plan_tasks  # type: ignore[attr-defined]
    }


def test_first_plan_runs_everything_in_order() -> None:
    plan = build_plan(AssetGraph(_specs()))
    assert [t.asset for t in plan.tasks] == ["raw", "clean", "report"]
    assert {t.reason for t in plan.tasks} == {"never materialized"}
    assert plan.to_run == plan.tasks
    assert plan.plan_id.startswith("plan_")


def test_reasons_follow_what_changed() -> None:
    first = build_plan(AssetGraph(_specs()))
    latest = _materialized(first.tasks)
    again = build_plan(AssetGraph(_specs()), latest=latest)
    assert {t.reason for t in again.tasks} == {"up to date"}
    assert again.to_run == ()
    forced = build_plan(AssetGraph(_specs()), latest=latest, force=True)
    assert {t.reason for t in forced.tasks} == {"forced"}
    # Cosmetic edits do not count; logic edits do, and ripple downstream.
    cosmetic = build_plan(
        AssetGraph(_specs({"clean": "SELECT *  FROM raw -- tidy"})), latest=latest
    )
    assert {t.reason for t in cosmetic.tasks} == {"up to date"}
    edited = build_plan(
        AssetGraph(_specs({"clean": "select * from raw where x > 0"})), latest=latest
    )
    assert [(t.asset, t.reason) for t in edited.tasks] == [
        ("raw", "up to date"),
        ("clean", "code changed"),
        ("report", "upstream changed"),
    ]
    assert edited.task("clean").previous == "m_clean"
    assert "code changed since materialization m_clean" in edited.task("clean").explain()
    assert "upstream asset changed" in edited.task("report").explain()
    assert "is skipped" in edited.task("raw").explain()
    assert "1 up to date" in edited.explain()
    with pytest.raises(AssetNotFound):
        edited.task("nope")


def test_forced_plan() -> None:
    latest = _materialized(build_plan(AssetGraph(_specs())).tasks)
    forced = build_plan(AssetGraph(_specs()), "clean", latest=latest, force=True)
    assert [(t.asset, t.reason) for t in forced.tasks] == [("clean", "forced")]
    assert "the run was forced" in str(forced)


def test_selection_keeps_upstream_fingerprints() -> None:
    full = build_plan(AssetGraph(_specs()))
    only = build_plan(AssetGraph(_specs()), "report")
    assert only.task("report").fingerprint == full.task("report").fingerprint
    assert only.selection == "report"


def test_plan_json_is_byte_identical_and_changes_with_inputs() -> None:
    a = build_plan(AssetGraph(_specs()), "+report")
    b = build_plan(AssetGraph(list(reversed(_specs()))), "+report")
    assert a.json_bytes() == b.json_bytes()
    assert a.plan_id == b.plan_id
    assert build_plan(AssetGraph(_specs()), "+report", force=True).plan_id != a.plan_id
    assert build_plan(AssetGraph(_specs({"raw": "select 2"})), "+report").plan_id != a.plan_id


@given(st.randoms(use_true_random=False), st.sampled_from([None, "report", "+report", "raw+"]))
def test_shuffling_definition_order_never_changes_plan_id(
    rnd: random.Random, sel: str | None
) -> None:
    specs = _specs() + [AssetSpec(f"side{i}", "sql", f"select {i}") for i in range(5)]
    reference = build_plan(AssetGraph(specs), sel).plan_id
    rnd.shuffle(specs)
    assert build_plan(AssetGraph(specs), sel).plan_id == reference


def test_workspace_plans_against_recorded_materializations(
    ws: Workspace, registry: Registry
) -> None:
    sql_asset("raw", "select 1 as x", registry=registry)
    sql_asset("clean", "select * from raw", registry=registry)
    plan = ws.plan()
    assert [t.reason for t in plan.tasks] == ["never materialized", "never materialized"]
    for task in plan.tasks:
        ws.events.append(
            Event.create(
                "materialization",
                run_id="r1",
                asset=task.asset,
                materialization_id=f"m_{task.asset}",
                rows=1,
                bytes=10,
                schema_hash="s",
                path=f"data/{task.asset}/_/m.parquet",
                fingerprint=task.fingerprint,
                code_version=task.code_version,
            )
        )
    assert [t.reason for t in ws.plan().tasks] == ["up to date", "up to date"]
    assert ws.explain("clean") == "clean is skipped: materialization m_clean is up to date."
    ws.compact()
    assert ws.plan().plan_id == ws.plan().plan_id


@given(st.randoms(use_true_random=False), st.booleans())
def test_the_unpartitioned_shortcut_plans_what_the_general_planner_does(
    rnd: random.Random, force: bool
) -> None:
    """Without partitions, planning takes a shortcut (a notebook cell plans all of its
    ancestors again); on any graph and any record it must give the general planner's tasks."""
    from arco_nb.flow.plan import _tasks, _unpartitioned_tasks

    names = [f"a{i}" for i in range(rnd.randint(1, 12))]
    specs = [
        AssetSpec(
            name,
            "sql",
            f"select {rnd.randint(0, 2)}",
            deps=tuple(rnd.sample(names[:i], rnd.randint(0, min(i, 3)))),
        )
        for i, name in enumerate(names)
    ]
    graph = AssetGraph(specs)
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    recorded = build_plan(graph).tasks
    latest = {}
    for task in recorded:  # some up to date, some stale, some never materialized
        fate = rnd.choice(["current", "old code", "old upstream", "none"])
        if fate != "none":
            latest[task.key] = LatestMaterialization(
                task.asset,
                "",
                f"m_{task.asset}",
                "stale" if fate == "old upstream" else task.fingerprint,
                "old" if fate == "old code" else task.code_version,
                1,
                at,
                "run",
            )
    for selection in [None, rnd.choice(names), "+" + rnd.choice(names), rnd.choice(names) + "+"]:
        selected = graph.select(selection)
        assert _unpartitioned_tasks(graph, selected, latest, force) == _tasks(
            graph, selected, latest, force, partitions=None, today=None, max_partitions=10_000
        )


def test_explain_names_only_the_upstream_that_changed(memory_root: str) -> None:
    """``report`` reads ``by_customer`` and ``visits``; only ``visits`` changed, and the
    lineage of report's materialization says what it read, so explain names ``visits`` alone."""
    registry = Registry()
    sql_asset("by_customer", "select 1 as c", registry=registry)
    sql_asset("visits", "select 1 as v", registry=registry)
    sql_asset("report", "select * from by_customer, visits", registry=registry)
    ws = Workspace(memory_root, registry=registry)
    ws.run()
    sql_asset("visits", "select 2 as v", registry=registry)
    said = ws.explain("report")
    assert said.endswith("(visits).")
    assert "an upstream asset changed since materialization" in said
    sql_asset("by_customer", "select 2 as c", registry=registry)
    assert ws.explain("report").endswith(
        "upstream assets changed since materialization "
        f"{ws.plan('report').task('report').previous} "
        "(by_customer, visits)."
    )
    ws.run()
    assert "is skipped" in ws.explain("report")
