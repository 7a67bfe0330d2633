# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Arco: a notebook-first data catalog and asset orchestrator.

The public API is exactly what ``__all__`` lists; everything else lives in private modules and may
change. ``import arco`` gives the same names.
"""

from __future__ import annotations

from arco_nb._extension import load_ipython_extension, unload_ipython_extension
from arco_nb._version import __version__
from arco_nb.core.errors import (
    AlreadyExists,
    ArcoError,
    AssetDefinitionError,
    AssetNotFound,
    CatalogError,
    CommitConflict,
    ConfigError,
    CorruptObject,
    CycleError,
    InvalidName,
    InvalidTransition,
    NamespaceNotFound,
    ObjectNotFound,
    QueryError,
    QueryRefused,
    RunNotFound,
    SelectionError,
    SignatureExpired,
    SignatureInvalid,
    StorageError,
    TableNotFound,
    TenantViolation,
)
from arco_nb.core.signing import SignedURL
from arco_nb.core.storage import ObjectStore
from arco_nb.core.tenancy import TenantScope
from arco_nb.flow.assets import asset, sql_asset
from arco_nb.flow.execute import RunResult
from arco_nb.flow.lineage import AssetInfo, LineageEdge, LineageGraph
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    Partitions,
    StaticPartitions,
)
from arco_nb.flow.plan import Plan, Task
from arco_nb.notebook import browse
from arco_nb.workspace import Workspace

__all__ = [
    "AlreadyExists",
    "ArcoError",
    "AssetDefinitionError",
    "AssetInfo",
    "AssetNotFound",
    "CatalogError",
    "CommitConflict",
    "ConfigError",
    "CorruptObject",
    "CycleError",
    "DailyPartitions",
    "InvalidName",
    "InvalidTransition",
    "LineageEdge",
    "LineageGraph",
    "MonthlyPartitions",
    "NamespaceNotFound",
    "ObjectNotFound",
    "ObjectStore",
    "Partitions",
    "Plan",
    "QueryError",
    "QueryRefused",
    "RunNotFound",
    "RunResult",
    "SelectionError",
    "SignatureExpired",
    "SignatureInvalid",
    "SignedURL",
    "StaticPartitions",
    "StorageError",
    "TableNotFound",
    "Task",
    "TenantScope",
    "TenantViolation",
    "Workspace",
    "__version__",
    "asset",
    "browse",
    "load_ipython_extension",
    "sql_asset",
    "unload_ipython_extension",
]


# Present the public names as members of the package, not of the private modules they live in.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("arco_nb."):
        _obj.__module__ = "arco_nb"
del _name, _obj
