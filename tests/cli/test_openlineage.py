# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco export openlineage``: checked with the openlineage-python client's own classes and
against the specification's JSON Schema (vendored in tests/data/openlineage)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import Result
from openlineage.client import event_v2
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.serde import Serde
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "openlineage"


def _registry() -> Registry:  # type: ignore[type-arg]
    resources = [
        (name, Resource.from_contents(json.loads((SCHEMAS / name).read_text()), DRAFT202012))
        for name in ("OpenLineage.json", "SchemaDatasetFacet.json")
    ]
    return Registry().with_resources(resources)


def _dataset(kind: type, data: dict[str, Any]) -> Any:
    facets = {}
    if "schema" in data.get("facets", {}):
        raw = data["facets"]["schema"]
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"])
                for f in raw["fields"]
            ]
        )
    return kind(namespace=data["namespace"], name=data["name"], facets=facets)


def parse(line: str) -> event_v2.RunEvent:
    """Build the client's RunEvent from one exported line (its validators run)."""
    data = json.loads(line)
    return event_v2.RunEvent(
        eventType=event_v2.RunState(data["eventType"]),
        eventTime=data["eventTime"],
        producer=data["producer"],
        run=event_v2.Run(runId=data["run"]["runId"]),
        job=event_v2.Job(namespace=data["job"]["namespace"], name=data["job"]["name"]),
        inputs=[_dataset(event_v2.InputDataset, d) for d in data["inputs"]],
        outputs=[_dataset(event_v2.OutputDataset, d) for d in data["outputs"]],
    )


def test_every_line_is_a_valid_run_event(
    arco: Callable[..., Result], pipeline: Path, failing: Path, tmp_path: Path
) -> None:
    assert arco("run", str(pipeline)).exit_code == 0
    assert arco("run", str(failing)).exit_code == 1
    out = tmp_path / "lineage.jsonl"
    result = arco("export", "openlineage", "-o", str(out))
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 6, "queued, running and an end for each of the two runs"
    registry = _registry()
    validator = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / "OpenLineage.json").read_text()),
        registry=registry,
        format_checker=jsonschema.FormatChecker(),
    )
    facet_validator = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / "SchemaDatasetFacet.json").read_text()), registry=registry
    )
    types = []
    for line in lines:
        data = json.loads(line)
        validator.validate(data)
        for dataset in data["inputs"] + data["outputs"]:
            facet_validator.validate(dataset.get("facets", {}))
        event = parse(line)
        assert uuid.UUID(str(event.run.runId))
        round_trip = Serde.to_dict(event)
        assert round_trip["eventType"] == data["eventType"]
        assert [o["name"] for o in round_trip.get("outputs", [])] == [
            o["name"] for o in data["outputs"]
        ]
        types.append(data["eventType"])
    assert types.count("START") == 2
    assert types.count("COMPLETE") == 1
    assert types.count("FAIL") == 1
    complete = next(json.loads(x) for x in lines if json.loads(x)["eventType"] == "COMPLETE")
    outputs = {o["name"]: o for o in complete["outputs"]}
    assert set(outputs) == {"assets.numbers", "assets.total", "assets.regional"}
    assert outputs["assets.total"]["facets"]["schema"]["fields"] == [
        {"name": "total", "type": "int64"}
    ]
    assert complete["job"]["namespace"].startswith("file://")


def test_one_run_only(arco: Callable[..., Result], pipeline: Path, tmp_path: Path) -> None:
    arco("run", str(pipeline))
    run_id = json.loads(arco("runs", "--json").output)[0]["run_id"]
    out = tmp_path / "one.jsonl"
    assert arco("export", "openlineage", "--run", run_id, "-o", str(out)).exit_code == 0
    assert len(out.read_text().splitlines()) == 3
    bad = arco("export", "openlineage", "--run", "nope", "-o", str(out))
    assert bad.exit_code == 2
    assert "No run 'nope'" in bad.output
