# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb import ConfigError, TenantScope, TenantViolation
from arco_nb.core.tenancy import check_id, check_key, join_key
from tests.core.store_suite import TRAVERSAL_KEYS

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-"


@pytest.mark.parametrize("good", ["a", "acme", "acme-corp", "t_1", "0", "a" * 63])
def test_valid_ids(good: str) -> None:
    assert check_id(good, kind="tenant") == good


@pytest.mark.parametrize(
    "bad", ["", "Acme", "-acme", "_x", "a" * 64, "a/b", "..", "a.b", "é", " a", "a\n", None, 3]
)
def test_invalid_ids(bad: object) -> None:
    with pytest.raises(TenantViolation, match="tenant id"):
        check_id(bad, kind="tenant")


@given(st.text(alphabet=ID_ALPHABET + "./\\%A", max_size=70))
def test_id_rule_is_the_documented_regex(value: str) -> None:
    ok = (
        0 < len(value) <= 63
        and value[0] in "abcdefghijklmnopqrstuvwxyz0123456789"
        and all(c in ID_ALPHABET for c in value)
    )
    if ok:
        assert check_id(value, kind="workspace") == value
    else:
        with pytest.raises(TenantViolation):
            check_id(value, kind="workspace")


@pytest.mark.parametrize("bad", TRAVERSAL_KEYS)
def test_traversal_keys_are_refused(bad: str) -> None:
    with pytest.raises(TenantViolation) as info:
        check_key(bad)
    assert info.value.key == bad
    assert isinstance(info.value, PermissionError)


def test_refusal_says_why() -> None:
    with pytest.raises(TenantViolation, match=r"'\.' and '\.\.' segments .*after URL decoding"):
        check_key("%2e%2e/x")
    with pytest.raises(TenantViolation, match="too many times"):
        check_key("%25252525252e")
    with pytest.raises(TenantViolation, match="longer than 255 bytes"):
        check_key("a/" + "x" * 256)
    with pytest.raises(TenantViolation, match="longer than 1024 bytes"):
        check_key("/".join(["x" * 200] * 6))
    with pytest.raises(TenantViolation, match="must be a string"):
        check_key(b"bytes")


@pytest.mark.parametrize(
    "good", ["a", "a/b/c.json", "data/orders/2024-01-01/01hx.parquet", "été/ü", "100%", "a b"]
)
def test_ordinary_keys_pass(good: str) -> None:
    assert check_key(good) == good


@given(st.text(min_size=1, max_size=40))
def test_any_accepted_key_stays_under_its_prefix(key: str) -> None:
    try:
        check_key(key)
    except TenantViolation:
        return
    prefix = "/root/tenants/t/workspaces/w"
    joined = posixpath.normpath(f"{prefix}/{key}")
    assert joined.startswith(prefix + "/")
    assert "\\" not in key


def test_join_key_checks_the_result() -> None:
    assert join_key("catalog", "_log", "1.json") == "catalog/_log/1.json"
    with pytest.raises(TenantViolation):
        join_key("catalog", "..", "x")
    with pytest.raises(TenantViolation):
        join_key("catalog", "")


def test_scope_prefix_and_url() -> None:
    scope = TenantScope("memory://lake/", tenant="acme", workspace="sales")
    assert scope.prefix == "tenants/acme/workspaces/sales"
    assert scope.url == "memory://lake/tenants/acme/workspaces/sales"
    assert scope.key("catalog", "_log") == "catalog/_log"


def test_scope_pins_local_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scope = TenantScope()
    assert scope.root == str(tmp_path / ".arco")
    assert TenantScope(f"file://{tmp_path}/x/../y").root == f"file://{tmp_path}/y"
    assert TenantScope("~/lake").root == os.path.expanduser("~/lake")


def test_scope_refuses_bad_ids_and_roots() -> None:
    with pytest.raises(TenantViolation):
        TenantScope("memory://x", tenant="../other")
    with pytest.raises(TenantViolation, match="workspace id"):
        TenantScope("memory://x", workspace="Main")
    with pytest.raises(ConfigError, match="root is empty"):
        TenantScope("  ")


def test_scope_from_env() -> None:
    env = {"ARCO_ROOT": "memory://env", "ARCO_TENANT": "acme", "ARCO_WORKSPACE": "ws"}
    scope = TenantScope.from_env(environ=env)
    assert (scope.root, scope.tenant, scope.workspace) == ("memory://env", "acme", "ws")
    assert TenantScope.from_env("memory://arg", tenant="t", environ=env).url == (
        "memory://arg/tenants/t/workspaces/ws"
    )


def test_scope_from_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCO_ROOT", "memory://proc")
    monkeypatch.setenv("ARCO_TENANT", "acme")
    assert TenantScope.from_env().url == "memory://proc/tenants/acme/workspaces/default"


def test_scope_equality_ignores_credentials() -> None:
    a = TenantScope("memory://x", storage_options={"secret": "1"})
    b = TenantScope("memory://x", storage_options={"secret": "2"})
    assert a == b
    assert "secret" not in repr(a)
