# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import contextlib
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arco_nb import ArcoError, TenantScope
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.model import AssetDef, Column, Table
from arco_nb.catalog.operations import (
    AlterTable,
    CreateNamespace,
    CreateTable,
    DefineAsset,
    DropAsset,
    DropNamespace,
    DropTable,
    Operation,
)

names = st.sampled_from(["a", "b", "c"])
columns = st.lists(
    st.builds(Column, st.sampled_from(["x", "y", "z"]), st.sampled_from(["int64", "string"])),
    max_size=3,
    unique_by=lambda c: c.name,
).map(tuple)
operations: st.SearchStrategy[Operation] = st.one_of(
    st.builds(CreateNamespace, names, st.text(max_size=5)),
    st.builds(DropNamespace, names),
    st.builds(
        lambda ns, t, cols, tags: CreateTable(
            Table(namespace=ns, name=t, columns=cols, tags=tuple(sorted(set(tags))))
        ),
        names,
        names,
        columns,
        st.lists(names, max_size=2),
    ),
    st.builds(
        lambda ns, t, d, cols: AlterTable(f"{ns}.{t}", description=d, columns=cols),
        names,
        names,
        st.none() | st.text(max_size=5),
        st.none() | columns,
    ),
    st.builds(lambda ns, t: DropTable(f"{ns}.{t}"), names, names),
    st.builds(
        lambda n, code, deps: DefineAsset(AssetDef(n, "sql", code=code, deps=tuple(deps))),
        names,
        st.text(max_size=5),
        st.lists(names, max_size=2),
    ),
    st.builds(DropAsset, names),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(operations, min_size=1, max_size=3), min_size=1, max_size=8), st.data())
def test_applying_a_diff_to_v1_gives_v2(
    batches: list[list[Operation]], data: st.DataObject
) -> None:
    catalog = Catalog(TenantScope(f"memory://prop-{uuid.uuid4().hex}").store())
    for batch in batches:
        with contextlib.suppress(ArcoError):  # invalid for the state: nothing is committed
            catalog.commit(batch)
    latest = catalog.version
    v1 = data.draw(st.integers(0, latest), label="v1")
    v2 = data.draw(st.integers(0, latest), label="v2")
    diff = catalog.diff(v1, v2)
    assert diff.apply(catalog.as_of(v1).state) == catalog.as_of(v2).state
    assert bool(diff) == (not catalog.as_of(v1).state.same_content(catalog.as_of(v2).state))
