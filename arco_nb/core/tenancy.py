# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tenant scope: which storage prefix a workspace owns, and the rules every key obeys.

A :class:`TenantScope` names one workspace of one tenant under a root URL. Everything that
workspace stores lives below ``{root}/tenants/{tenant}/workspaces/{workspace}/``; the store it
hands out (:meth:`TenantScope.store`) is rooted there and accepts only keys that
:func:`check_key` passes, so no key can reach another tenant's objects. See
``docs/adr/0003-multi-tenancy.md`` for what this isolation guarantees and what it does not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_nb.core.errors import ConfigError
from arco_nb.core.keys import check_id, check_key, join_key  # the scope's rules, re-exported
from arco_nb.core.settings import (  # normalise_root re-exported
    DEFAULT_ROOT,
    DEFAULT_TENANT,
    DEFAULT_WORKSPACE,
    Settings,
    normalise_root,
)
from arco_nb.core.storage import ObjectStore

__all__ = [
    "DEFAULT_ROOT",
    "DEFAULT_TENANT",
    "DEFAULT_WORKSPACE",
    "TenantScope",
    "check_id",
    "check_key",
    "join_key",
    "normalise_root",
]


@dataclass(frozen=True)
class TenantScope:
    """One workspace of one tenant under a storage root.

    Parameters
    ----------
    root
        A local path or an fsspec URL (``memory://lake``, ``s3://bucket/lake``). Local paths are
        made absolute.
    tenant, workspace
        Ids matching ``[a-z0-9][a-z0-9_-]{0,62}``.
    storage_options
        Passed to fsspec (credentials, ``endpoint_url``, ...). Never printed.

    Examples
    --------
    >>> scope = TenantScope("memory://lake", tenant="acme")
    >>> scope.prefix
    'tenants/acme/workspaces/default'
    >>> scope.url
    'memory://lake/tenants/acme/workspaces/default'
    """

    root: str = DEFAULT_ROOT
    tenant: str = DEFAULT_TENANT
    workspace: str = DEFAULT_WORKSPACE
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", normalise_root(self.root))
        check_id(self.tenant, kind="tenant")
        check_id(self.workspace, kind="workspace")
        object.__setattr__(self, "storage_options", dict(self.storage_options))

    @classmethod
    def from_env(
        cls,
        root: str | None = None,
        *,
        tenant: str | None = None,
        workspace: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> TenantScope:
        """Build a scope from arguments, falling back to ``ARCO_ROOT``, ``ARCO_TENANT``,
        ``ARCO_WORKSPACE``, ``ARCO_STORAGE_OPTIONS`` and then the defaults (``./.arco``,
        ``default``, ``default``): :meth:`arco_nb.core.settings.Settings.from_env`."""
        settings = Settings.from_env(
            root=root,
            tenant=tenant,
            workspace=workspace,
            storage_options=storage_options,
            environ=environ,
        )
        return cls(
            settings.root,
            settings.tenant,
            settings.workspace,
            storage_options=settings.storage_options,
        )

    @property
    def prefix(self) -> str:
        """The scope's key prefix under the root, without a trailing slash."""
        return f"tenants/{self.tenant}/workspaces/{self.workspace}"

    @property
    def url(self) -> str:
        """The URL (or local path) every object of this scope lives under."""
        return f"{self.root}/{self.prefix}"

    def key(self, *parts: str) -> str:
        """Join ``parts`` into one checked key relative to this scope."""
        return join_key(*parts)

    def store(self) -> ObjectStore:
        """Return an :class:`~arco_nb.core.storage.ObjectStore` rooted at this scope's prefix."""
        if "://" not in self.root and os.path.exists(self.root) and not os.path.isdir(self.root):
            raise ConfigError(
                f"The root {self.root!r} is a file, not a directory",
                hint="Point --root / ARCO_ROOT at a directory (it is created if missing)",
            )
        return ObjectStore(self.url, storage_options=self.storage_options)
