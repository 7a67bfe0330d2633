# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Arco: a notebook-first data catalog and asset orchestrator.

The public API is exactly what ``__all__`` lists; everything else lives in private modules and may
change. ``import arco`` gives the same names.
"""

from __future__ import annotations

from arco_nb._extension import load_ipython_extension, unload_ipython_extension
from arco_nb._version import __version__
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.checkpoints import Checkpoint
from arco_nb.catalog.diff import CatalogDiff, Change, ChangeKind, ColumnChange, ColumnChangeKind
from arco_nb.catalog.doctor import DoctorFinding, DoctorReport
from arco_nb.catalog.eventlog import CompactionResult, EventLog, Manifest, PartInfo
from arco_nb.catalog.events import Event, RunStatus, TaskStatus
from arco_nb.catalog.gc import GcResult
from arco_nb.catalog.latest import LatestFacts, LatestMaterialization
from arco_nb.catalog.log import CommitInfo
from arco_nb.catalog.model import AssetDef, CatalogState, Column, Namespace, Table
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
from arco_nb.catalog.view import CatalogView
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
    InvalidEvent,
    InvalidName,
    InvalidTransition,
    NamespaceNotFound,
    ObjectNotFound,
    QueryError,
    QueryRefused,
    RunNotFound,
    SchemaError,
    SelectionError,
    SignatureExpired,
    SignatureInvalid,
    StorageError,
    TableNotFound,
    TenantViolation,
)
from arco_nb.core.settings import Settings
from arco_nb.core.signing import SignedTarget, SignedURL, Signer, open_signed
from arco_nb.core.storage import ObjectStore
from arco_nb.core.tenancy import TenantScope
from arco_nb.flow.assets import AssetSpec, Registry, asset, sql_asset
from arco_nb.flow.assets import Kind as AssetKind
from arco_nb.flow.execute import RunResult
from arco_nb.flow.executors import ExecutorName
from arco_nb.flow.lineage import AssetInfo, LineageEdge, LineageGraph
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    Partitions,
    StaticPartitions,
)
from arco_nb.flow.plan import Plan, Reason, Task
from arco_nb.flow.runs import RunInfo, TaskInfo
from arco_nb.flow.state import RunState, TaskState
from arco_nb.flow.status import AssetStatus, StatusIndex
from arco_nb.notebook import browse
from arco_nb.workspace import Workspace

__all__ = [
    "AlreadyExists",
    "AlterTable",
    "ArcoError",
    "AssetDef",
    "AssetDefinitionError",
    "AssetInfo",
    "AssetKind",
    "AssetNotFound",
    "AssetSpec",
    "AssetStatus",
    "Catalog",
    "CatalogDiff",
    "CatalogError",
    "CatalogState",
    "CatalogView",
    "Change",
    "ChangeKind",
    "Checkpoint",
    "Column",
    "ColumnChange",
    "ColumnChangeKind",
    "CommitConflict",
    "CommitInfo",
    "CompactionResult",
    "ConfigError",
    "CorruptObject",
    "CreateNamespace",
    "CreateTable",
    "CycleError",
    "DailyPartitions",
    "DefineAsset",
    "DoctorFinding",
    "DoctorReport",
    "DropAsset",
    "DropNamespace",
    "DropTable",
    "Event",
    "EventLog",
    "ExecutorName",
    "GcResult",
    "InvalidEvent",
    "InvalidName",
    "InvalidTransition",
    "LatestFacts",
    "LatestMaterialization",
    "LineageEdge",
    "LineageGraph",
    "Manifest",
    "MonthlyPartitions",
    "Namespace",
    "NamespaceNotFound",
    "ObjectNotFound",
    "ObjectStore",
    "Operation",
    "PartInfo",
    "Partitions",
    "Plan",
    "QueryError",
    "QueryRefused",
    "Reason",
    "Registry",
    "RunInfo",
    "RunNotFound",
    "RunResult",
    "RunState",
    "RunStatus",
    "SchemaError",
    "SelectionError",
    "Settings",
    "SignatureExpired",
    "SignatureInvalid",
    "SignedTarget",
    "SignedURL",
    "Signer",
    "StaticPartitions",
    "StatusIndex",
    "StorageError",
    "Table",
    "TableNotFound",
    "Task",
    "TaskInfo",
    "TaskState",
    "TaskStatus",
    "TenantScope",
    "TenantViolation",
    "Workspace",
    "__version__",
    "asset",
    "browse",
    "load_ipython_extension",
    "open_signed",
    "sql_asset",
    "unload_ipython_extension",
]


# Present the public names as members of the package, not of the private modules they live in.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("arco_nb."):
        _obj.__module__ = "arco_nb"
del _name, _obj
