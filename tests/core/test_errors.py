# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import datetime as dt
import inspect
import pickle
import re
from typing import Any

import pytest

from arco_nb.core import errors
from arco_nb.core.errors import (
    AlreadyExists,
    ArcoError,
    AssetNotFound,
    CommitConflict,
    CycleError,
    InvalidTransition,
    StorageError,
    TableNotFound,
)

SAMPLES: dict[type[ArcoError], dict[str, Any]] = {
    errors.ArcoError: {"message": "Plain", "hint": "Do this"},
    errors.ConfigError: {"message": "Bad root"},
    errors.InvalidName: {"name": "Bad Name", "kind": "asset", "rule": "use snake_case"},
    errors.TenantViolation: {"key": "../x", "reason": "traversal"},
    errors.StorageError: {"message": "Boom", "key": "k", "url": "memory://x"},
    errors.AlreadyExists: {"key": "k", "url": "memory://x"},
    errors.ObjectNotFound: {"key": "k", "url": "memory://x"},
    errors.CatalogError: {"message": "Catalog"},
    errors.CommitConflict: {"object_name": "sales.orders", "version": 7, "detail": "schema"},
    errors.CorruptObject: {"key": "_log/1.json", "reason": "truncated JSON"},
    errors.NamespaceNotFound: {"namespace": "sales"},
    errors.TableNotFound: {"table": "sales.ordrs", "suggestions": ["sales.orders"]},
    errors.AssetNotFound: {"asset": "ordrs", "suggestions": ["orders"]},
    errors.AssetDefinitionError: {"asset": "orders", "problem": "bad SQL", "hint": "Fix it"},
    errors.CycleError: {"cycle": ["a", "b", "a"]},
    errors.SelectionError: {"selection": "++a", "reason": "double plus"},
    errors.QueryError: {"message": "SQL error: no such view", "hint": "Use arco.runs"},
    errors.QueryRefused: {"statement_type": "COPY", "where": "Metadata SQL", "allowed": "Read"},
    errors.RunNotFound: {"run_id": "01m8dzzzzzzzzzzzzzzzzzzzzz"},
    errors.InvalidEvent: {"message": "Event times must be timezone-aware", "hint": "Use UTC"},
    errors.SchemaError: {
        "message": "Partitions do not combine",
        "asset": "orders",
        "hint": "Rerun",
    },
    errors.SignatureInvalid: {"reason": "the signature does not match"},
    errors.SignatureExpired: {"expires_at": dt.datetime(2026, 12, 3, tzinfo=dt.UTC)},
    errors.InvalidTransition: {"current": "succeeded", "target": "running", "run_id": "r1"},
}


def _make(cls: type[ArcoError]) -> ArcoError:
    kwargs = dict(SAMPLES[cls])
    params = inspect.signature(cls.__init__).parameters
    positional = [
        kwargs.pop(name)
        for name, p in params.items()
        if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    return cls(*positional, **kwargs)


def test_every_error_class_has_a_sample() -> None:
    assert set(SAMPLES) == {getattr(errors, name) for name in errors.__all__}


def test_docstring_draws_every_class() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or ""))
    assert drawn == set(errors.__all__) - {"ArcoError"}


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_errors_pickle_with_their_context(cls: type[ArcoError]) -> None:
    err = _make(cls)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cls
    assert str(again) == str(err)
    assert again.__dict__ == err.__dict__
    assert isinstance(again, ArcoError)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_messages_are_one_line_sentences(cls: type[ArcoError]) -> None:
    text = str(_make(cls))
    assert "\n" not in text
    assert text[0].isupper()


def test_builtin_mixins() -> None:
    assert issubclass(AssetNotFound, KeyError)
    assert issubclass(AlreadyExists, FileExistsError)
    assert issubclass(StorageError, OSError)
    assert issubclass(CycleError, ValueError)
    assert issubclass(InvalidTransition, RuntimeError)
    with pytest.raises(KeyError):
        raise AssetNotFound("x")


def test_key_error_mixins_print_their_sentence_not_a_repr() -> None:
    err = AssetNotFound("ordrs", suggestions=["orders", "order_items"])
    assert str(err) == "Unknown asset 'ordrs'. Did you mean 'orders', 'order_items'?"
    assert err.asset == "ordrs"
    assert err.suggestions == ("orders", "order_items")
    assert "Define it" in str(AssetNotFound("x"))
    assert str(TableNotFound("t")) == "Table 't' does not exist"


def test_context_attributes() -> None:
    conflict = CommitConflict("sales.orders", version=12)
    assert conflict.object_name == "sales.orders"
    assert conflict.version == 12
    assert "version 12" in str(conflict)
    transition = InvalidTransition("pending", "succeeded", asset="orders", run_id="r1")
    assert str(transition) == "Illegal transition of task 'orders' in run r1: pending -> succeeded"
    assert CycleError(["a", "b", "a"]).cycle == ("a", "b", "a")
