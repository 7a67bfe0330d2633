# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Arco's settings and the one place that reads them from the environment.

An explicit argument wins over the environment, which wins over the project file
(``arco.toml``, found by walking up from the working directory: :mod:`arco_nb.core.project`),
which wins over the default. The file counts only when it is what chose the root: with
``--root`` or ``ARCO_ROOT``, its tenant, workspace and storage options are not mixed in. The
magics' traitlets (``%config Arco.*``), the command line's global options and
:class:`~arco_nb.Workspace` all ask :meth:`Settings.from_env`, so the same variable means the
same thing everywhere; :attr:`Settings.origin` says where the root came from.

========================  ==========================================  =============
variable                  setting                                     default
========================  ==========================================  =============
``ARCO_ROOT``             where data and metadata live                ``arco.toml``, ``./.arco``
``ARCO_TENANT``           tenant id                                   ``default``
``ARCO_WORKSPACE``        workspace id                                ``default``
``ARCO_STORAGE_OPTIONS``  fsspec options, a JSON object               ``{}``
``ARCO_EXECUTOR``         ``inline``, ``threads`` or ``dask``         ``inline``
``ARCO_SQL_SANDBOX``      run SQL assets in the SQL sandbox           off
``ARCO_DASK_SCHEDULER``   the Dask scheduler's address                none
========================  ==========================================  =============

An empty variable counts as unset. A value that cannot be used is a
:class:`~arco_nb.core.errors.ConfigError` naming the variable, except ``ARCO_EXECUTOR``, which
falls back to ``inline`` (a kernel started by ``arco run`` must still start).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from arco_nb.core.errors import ConfigError

__all__ = [
    "DEFAULT_AUTO_COMPACT",
    "DEFAULT_EXECUTOR",
    "DEFAULT_MAX_PARTITIONS",
    "DEFAULT_ROOT",
    "DEFAULT_RUN_LEASE",
    "DEFAULT_TENANT",
    "DEFAULT_WORKSPACE",
    "EXECUTORS",
    "RUNS_FILE_VARIABLE",
    "ExecutorName",
    "Settings",
    "env_executor",
    "env_sql_sandbox",
    "executor_name",
    "normalise_root",
    "parse_bool",
    "parse_options",
]

DEFAULT_ROOT = "./.arco"
DEFAULT_TENANT = "default"
DEFAULT_WORKSPACE = "default"
# Set by ``arco run NOTEBOOK`` for its kernel: a file each run's id is appended to as it starts.
RUNS_FILE_VARIABLE = "ARCO_RUNS_FILE"
DEFAULT_RUN_LEASE = 60  # seconds a run is presumed alive after its writer last renewed it
DEFAULT_MAX_PARTITIONS = 10_000  # keys of one asset in one plan: a 27-year daily backfill
DEFAULT_AUTO_COMPACT = 200  # uncompacted inbox objects after which a run compacts (0: never)
ExecutorName = Literal["inline", "threads", "dask"]
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)
DEFAULT_EXECUTOR: ExecutorName = "inline"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(raw: str, *, name: str) -> bool:
    """``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off`` (any case, trimmed).

    Raises
    ------
    ConfigError
        For anything else; ``name`` says which setting.
    """
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{name}={raw!r} is neither on nor off", hint="Use 1/true/yes/on or 0/false/no/off"
    )


@dataclass(frozen=True)
class Settings:
    """Where Arco works and how it runs, resolved once."""

    root: str = DEFAULT_ROOT
    tenant: str = DEFAULT_TENANT
    workspace: str = DEFAULT_WORKSPACE
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    executor: ExecutorName = DEFAULT_EXECUTOR
    sql_sandbox: bool = False
    dask_scheduler: str | None = None
    max_partitions: int = DEFAULT_MAX_PARTITIONS
    run_lease: int = DEFAULT_RUN_LEASE
    auto_compact: int = DEFAULT_AUTO_COMPACT
    origin: str = field(default="the default", compare=False)

    def describe(self, given_by: str = "an argument") -> str:
        """Which store, and why, in one line: ``/p/.arco (tenant default, workspace
        default), from /p/arco.toml``. ``given_by`` names what an argument was (``--root``)."""
        why = {"given": given_by, "ARCO_ROOT": "ARCO_ROOT"}.get(self.origin, self.origin)
        where = f"tenant {self.tenant}, workspace {self.workspace}"
        return f"{normalise_root(self.root)} ({where}), from {why}"

    @classmethod
    def from_env(
        cls,
        *,
        root: str | None = None,
        tenant: str | None = None,
        workspace: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        executor: str | None = None,
        sql_sandbox: bool | None = None,
        dask_scheduler: str | None = None,
        max_partitions: int | None = None,
        run_lease: int | None = None,
        auto_compact: int | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> Settings:
        """The settings: each argument given (not ``None``) wins, then its variable, then the
        project file found from ``cwd`` (default: the working directory), then the default.
        An argument given as ``""`` is kept, to be refused where it is used."""
        env = os.environ if environ is None else environ

        def var(name: str) -> str | None:
            return env.get(name) or None  # empty counts as unset

        project = None
        env_root = var("ARCO_ROOT")
        if root is not None:
            origin = "given"
        elif env_root is not None:
            root, origin = env_root, "ARCO_ROOT"
        else:
            from arco_nb.core.project import PROJECT_FILE, find_project, load_project

            found = find_project(cwd)
            project = load_project(found) if found is not None else None
            if project is not None and project.root is not None:
                root, origin = project.root, found or ""
            else:
                root = DEFAULT_ROOT
                origin = (
                    f"the default: {found} names no root"
                    if found
                    else f"the default: no ARCO_ROOT, no {PROJECT_FILE} here or above"
                )
        options = storage_options
        if options is None and var("ARCO_STORAGE_OPTIONS"):
            options = _options(env["ARCO_STORAGE_OPTIONS"])
        if options is None and project is not None:
            options = project.storage_options
        sandbox = env_sql_sandbox(env) if sql_sandbox is None else sql_sandbox
        return cls(
            root=root,
            tenant=(
                tenant
                if tenant is not None
                else var("ARCO_TENANT") or (project and project.tenant) or DEFAULT_TENANT
            ),
            workspace=(
                workspace
                if workspace is not None
                else var("ARCO_WORKSPACE") or (project and project.workspace) or DEFAULT_WORKSPACE
            ),
            storage_options=dict(options or {}),
            executor=executor_name(executor) if executor is not None else env_executor(env),
            sql_sandbox=bool(sandbox),
            dask_scheduler=dask_scheduler or var("ARCO_DASK_SCHEDULER"),
            max_partitions=_positive(
                max_partitions if max_partitions is not None else var("ARCO_MAX_PARTITIONS"),
                "ARCO_MAX_PARTITIONS",
                DEFAULT_MAX_PARTITIONS,
            ),
            run_lease=_positive(
                run_lease if run_lease is not None else var("ARCO_RUN_LEASE_S"),
                "ARCO_RUN_LEASE_S",
                DEFAULT_RUN_LEASE,
            ),
            auto_compact=_positive(
                auto_compact if auto_compact is not None else var("ARCO_AUTO_COMPACT"),
                "ARCO_AUTO_COMPACT",
                DEFAULT_AUTO_COMPACT,
                least=0,
            ),
            origin=origin,
        )


def normalise_root(root: str) -> str:
    """``root`` as Arco pins it: local paths absolute, URLs without a trailing slash."""
    root = root.strip()
    if not root:
        raise ConfigError("The Arco root is empty", hint="Pass a path or URL such as ./.arco")
    if "://" in root:
        scheme = root.split("://", 1)[0]
        if scheme == "file":
            return "file://" + os.path.abspath(root[len("file://") :] or "/")
        path = root.split("://", 1)[1].rstrip("/")
        return f"{scheme}://{path}"
    # Local paths are pinned at construction so a later chdir cannot move the workspace.
    return os.path.abspath(os.path.expanduser(root))


def parse_options(values: Iterable[str]) -> dict[str, str]:
    """``--storage-option KEY=VALUE`` arguments as fsspec options (the command line's and
    ``%arco use``'s).

    Raises
    ------
    ConfigError
        For an item that is not ``KEY=VALUE``.
    """
    found = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"--storage-option {item!r} is not KEY=VALUE",
                hint="e.g. --storage-option endpoint_url=http://127.0.0.1:9000",
            )
        found[key] = value
    return found


def executor_name(value: str) -> ExecutorName:
    """``value`` as an executor name (any case), or :class:`ConfigError` naming the choices."""
    name = value.lower() if isinstance(value, str) else value
    for known in EXECUTORS:
        if name == known:
            return known
    raise ConfigError(
        f"Unknown executor {value!r}", hint="Use " + ", ".join(repr(e) for e in EXECUTORS)
    )


def env_sql_sandbox(environ: Mapping[str, str] | None = None) -> bool:
    """``ARCO_SQL_SANDBOX`` as a flag (off when unset or empty).

    Raises
    ------
    ConfigError
        It is set to something neither on nor off.
    """
    env = os.environ if environ is None else environ
    raw = env.get("ARCO_SQL_SANDBOX") or ""
    return parse_bool(raw, name="ARCO_SQL_SANDBOX") if raw.strip() else False


def env_executor(environ: Mapping[str, str] | None = None) -> ExecutorName:
    """``ARCO_EXECUTOR`` if it names an executor, else ``inline``."""
    env = os.environ if environ is None else environ
    try:
        return executor_name((env.get("ARCO_EXECUTOR") or DEFAULT_EXECUTOR).strip())
    except ConfigError:
        return DEFAULT_EXECUTOR


def _positive(value: object, name: str, default: int, *, least: int = 1) -> int:
    """``value`` as a whole number of at least ``least`` (``None``: ``default``)."""
    if value is None:
        return default
    try:
        number = int(str(value).strip().replace("_", ""))
    except ValueError:
        number = least - 1
    if number < least or isinstance(value, bool | float):
        raise ConfigError(f"{name} must be a whole number of at least {least}, not {value!r}")
    return number


def _options(text: str) -> dict[str, Any]:
    """``ARCO_STORAGE_OPTIONS``: a JSON object of fsspec options (how a headless notebook
    kernel gets the command line's ``--storage-option``s)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(
            "ARCO_STORAGE_OPTIONS is not a JSON object",
            hint='Write it like {"endpoint_url": "http://127.0.0.1:9000"}',
        )
    return value
