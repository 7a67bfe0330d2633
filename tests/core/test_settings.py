# SPDX-License-Identifier: Apache-2.0 OR MIT
"""One reader of the environment: arguments beat variables beat defaults, everywhere."""

from __future__ import annotations

import pytest

from arco_nb.core.errors import ConfigError
from arco_nb.core.settings import EXECUTORS, Settings, parse_bool

ENV = {
    "ARCO_ROOT": "/lake",
    "ARCO_TENANT": "acme",
    "ARCO_WORKSPACE": "lab",
    "ARCO_STORAGE_OPTIONS": '{"endpoint_url": "http://127.0.0.1:9000"}',
    "ARCO_EXECUTOR": "Threads",
    "ARCO_SQL_SANDBOX": "yes",
    "ARCO_DASK_SCHEDULER": "tcp://127.0.0.1:8786",
}


def test_defaults_without_environment(tmp_path: object) -> None:
    assert Settings.from_env(environ={}, cwd=str(tmp_path)) == Settings()
    assert Settings() == Settings("./.arco", "default", "default")
    assert Settings().executor == "inline"
    assert Settings().sql_sandbox is False


def test_variables_fill_what_arguments_leave_out() -> None:
    s = Settings.from_env(environ=ENV)
    assert (s.root, s.tenant, s.workspace) == ("/lake", "acme", "lab")
    assert s.storage_options == {"endpoint_url": "http://127.0.0.1:9000"}
    assert s.executor == "threads"
    assert s.sql_sandbox is True
    assert s.dask_scheduler == "tcp://127.0.0.1:8786"


def test_arguments_win_and_empty_variables_count_as_unset() -> None:
    s = Settings.from_env(
        root="/other", executor="dask", sql_sandbox=False, storage_options={}, environ=ENV
    )
    assert (s.root, s.executor, s.sql_sandbox, s.storage_options) == ("/other", "dask", False, {})
    empty = Settings.from_env(environ=dict.fromkeys(ENV, ""), cwd="/")
    assert empty == Settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ARCO_SQL_SANDBOX", "maybe", "neither on nor off"),
        ("ARCO_STORAGE_OPTIONS", "[1, 2]", "not a JSON object"),
        ("ARCO_STORAGE_OPTIONS", "{oops", "not a JSON object"),
    ],
)
def test_unusable_variables_are_config_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ={name: value})


def test_a_bad_executor_variable_falls_back_but_a_bad_argument_is_refused() -> None:
    assert Settings.from_env(environ={"ARCO_EXECUTOR": "spark"}).executor == "inline"
    with pytest.raises(ConfigError, match="Unknown executor"):
        Settings.from_env(executor="spark", environ={})
    assert set(EXECUTORS) == {"inline", "threads", "dask"}


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" ON ", True), ("off", False)])
def test_parse_bool(raw: str, expected: bool) -> None:
    assert parse_bool(raw, name="X") is expected


def test_the_workspace_and_the_magics_read_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from arco_nb import Workspace

    monkeypatch.setenv("ARCO_ROOT", str(tmp_path))
    monkeypatch.setenv("ARCO_TENANT", "acme")
    monkeypatch.setenv("ARCO_SQL_SANDBOX", "1")
    ws = Workspace()
    assert ws.scope.tenant == "acme"
    assert ws.sandbox is True
    assert Workspace(sandbox=False).sandbox is False


def test_storage_options_from_key_value_arguments() -> None:
    from arco_nb.core.settings import parse_options

    assert parse_options(["endpoint_url=http://x:9000", "key=a=b"]) == {
        "endpoint_url": "http://x:9000",
        "key": "a=b",
    }
    with pytest.raises(ConfigError, match="'nokey' is not KEY=VALUE"):
        parse_options(["nokey"])
    with pytest.raises(ConfigError, match="'=v' is not KEY=VALUE"):
        parse_options(["=v"])
