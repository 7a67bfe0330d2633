# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The public API is what ``arco_nb.__all__`` lists: sorted, complete, and the same in ``arco``."""

from __future__ import annotations

import types

import arco
import arco_nb


def test_all_is_sorted_and_unique() -> None:
    assert list(arco_nb.__all__) == sorted(set(arco_nb.__all__))


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(arco_nb).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public | {"__version__"} == set(arco_nb.__all__)


def test_every_name_resolves() -> None:
    for name in arco_nb.__all__:
        assert getattr(arco_nb, name) is not None


def test_public_objects_present_as_members_of_arco_nb() -> None:
    for name in arco_nb.__all__:
        obj = getattr(arco_nb, name)
        if isinstance(obj, (type, types.FunctionType)):
            assert obj.__module__ == "arco_nb", name


def test_arco_reexports_exactly_the_public_api() -> None:
    assert arco.__all__ == arco_nb.__all__
    for name in arco_nb.__all__:
        assert getattr(arco, name) is getattr(arco_nb, name)
    assert arco.__version__ == arco_nb.__version__
