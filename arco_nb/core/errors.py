# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every error Arco raises on purpose.

All of them derive from :class:`ArcoError`, so ``except arco.ArcoError`` catches anything Arco
meant to tell the user. Where a builtin exception says the same thing, the class mixes it in, so
code that already catches ``KeyError`` or ``FileExistsError`` keeps working::

    ArcoError
    ├── ConfigError (ValueError)            a setting, root URL or option cannot be used
    ├── InvalidName (ValueError)            an asset, table or namespace name is malformed
    ├── TenantViolation (PermissionError)   a tenant/workspace id or key would leave its scope
    ├── StorageError (OSError)              the object store failed (names the key)
    │   ├── AlreadyExists (FileExistsError) put-if-absent lost: the key already exists
    │   └── ObjectNotFound (FileNotFoundError)
    ├── CatalogError                        the Tier 1 catalog refused a change or a read
    │   ├── CommitConflict                  a concurrent commit changed the same object
    │   ├── CorruptObject                   a metadata object cannot be parsed (names it)
    │   ├── NamespaceNotFound (KeyError)
    │   └── TableNotFound (KeyError)
    ├── AssetDefinitionError (ValueError)   an asset's code or options cannot be used
    ├── AssetNotFound (KeyError)            an asset name is unknown (lists close matches)
    ├── CycleError (ValueError)             asset dependencies form a cycle (gives the path)
    ├── SelectionError (ValueError)         a selection expression cannot be parsed
    ├── RunNotFound (KeyError)              no run has that id
    ├── InvalidEvent (ValueError)           an event cannot be recorded as given
    ├── SchemaError (ValueError)            data does not have a schema it can be used with
    ├── QueryError (ValueError)             a SQL query cannot be parsed or bound
    ├── QueryRefused (PermissionError)      a sandboxed SQL statement is not allowed (names it)
    ├── SignatureInvalid (PermissionError)  a signed URL is malformed or was tampered with
    ├── SignatureExpired (PermissionError)  a signed URL is authentic but past its deadline
    └── InvalidTransition (RuntimeError)    a run or task state change is not allowed

Each error's message says what went wrong and what to do about it; its context (``key``,
``asset``, ``run_id``, ...) is also available as attributes for programs. Errors pickle with their
attributes, so they cross process and Dask worker boundaries intact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AlreadyExists",
    "ArcoError",
    "AssetDefinitionError",
    "AssetNotFound",
    "CatalogError",
    "CommitConflict",
    "ConfigError",
    "CorruptObject",
    "CycleError",
    "InvalidEvent",
    "InvalidName",
    "InvalidTransition",
    "NamespaceNotFound",
    "ObjectNotFound",
    "QueryError",
    "QueryRefused",
    "RunNotFound",
    "SchemaError",
    "SelectionError",
    "SignatureExpired",
    "SignatureInvalid",
    "StorageError",
    "TableNotFound",
    "TenantViolation",
]


def one_line(exc: BaseException) -> str:
    """``exc`` for a one-line warning: an ArcoError's own message, else the type and message
    (used where background work reports a failure instead of raising it)."""
    return str(exc) if isinstance(exc, ArcoError) else f"{type(exc).__name__}: {exc}"


def _restore(cls: type[ArcoError], args: tuple[Any, ...], state: dict[str, Any]) -> ArcoError:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class ArcoError(Exception):
    """Base class of every error Arco raises on purpose.

    Parameters
    ----------
    message
        What went wrong, in words the user understands.
    hint
        What to do about it. Appended to the message when printed.
    """

    message: str
    hint: str | None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        # KeyError and OSError format their args their own way; we want our sentence.
        if self.hint:
            return f"{self.message}. {self.hint}"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self.__dict__.copy()))


class ConfigError(ArcoError, ValueError):
    """A setting, root URL or storage option cannot be used."""


class InvalidName(ArcoError, ValueError):
    """A name (asset, table, namespace, partition) does not follow the naming rules."""

    def __init__(self, name: str, *, kind: str, rule: str) -> None:
        self.name = name
        self.kind = kind
        super().__init__(f"Invalid {kind} name {name!r}", hint=rule)


class TenantViolation(ArcoError, PermissionError):
    """A tenant or workspace id, or an object key, would leave its tenant's storage prefix.

    Attributes
    ----------
    key
        The offending key or id, exactly as given.
    """

    def __init__(self, key: str, *, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(
            f"Refused {key!r}: {reason}",
            hint="Keys are relative paths of plain segments inside one tenant's prefix",
        )


class StorageError(ArcoError, OSError):
    """The object store failed. ``key`` names the object and ``url`` the store root."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.url = url
        super().__init__(message, hint=hint)


class AlreadyExists(StorageError, FileExistsError):
    """An exclusive create (put-if-absent) found the key already there."""

    def __init__(self, key: str, *, url: str | None = None) -> None:
        super().__init__(
            f"Object {key!r} already exists",
            key=key,
            url=url,
            hint="Another writer created it first; re-read it and retry with a new key",
        )


class ObjectNotFound(StorageError, FileNotFoundError):
    """No object exists at the key."""

    def __init__(self, key: str, *, url: str | None = None) -> None:
        where = f" under {url}" if url else ""
        super().__init__(
            f"No object {key!r}{where}",
            key=key,
            url=url,
            hint="Check the root, tenant and workspace this store points at",
        )


class CatalogError(ArcoError):
    """The Tier 1 catalog refused a change or could not be read."""


class CommitConflict(CatalogError):
    """A concurrent commit changed the same catalog object; nothing of this change was applied.

    Attributes
    ----------
    object_name
        The catalog object both commits touched (``"sales.orders"``, ``"asset:orders"``).
    version
        The catalog version that won.
    lost_races
        Set when there was no conflict, only contention that outlasted the retry budget: how
        many races the commit lost.
    """

    def __init__(
        self,
        object_name: str,
        *,
        version: int | None = None,
        detail: str = "",
        lost_races: int | None = None,
    ) -> None:
        self.object_name = object_name
        self.version = version
        self.lost_races = lost_races
        if lost_races is not None:  # no conflict: contention outlasted the retry budget
            super().__init__(
                f"Commit of {object_name!r} gave up after losing {lost_races} races to commits "
                "of other objects: its retry budget is spent",
                hint="Nothing was applied; retry it, or give the catalog a larger retry_budget",
            )
            return
        at = f" at version {version}" if version is not None else ""
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Commit conflict on {object_name!r}: another writer changed it{at}{extra}",
            hint="Nothing was applied; reload the catalog and decide whether to retry",
        )


class CorruptObject(CatalogError):
    """A metadata object cannot be parsed, or is missing where others show it must be; ``key``
    names it."""

    def __init__(self, key: str, *, reason: str, missing: bool = False) -> None:
        self.key = key
        self.reason = reason
        self.missing = missing
        if missing:
            super().__init__(
                f"Metadata object {key!r} is missing: {reason}",
                hint="Restore it from a backup or the bucket's object versions; until then "
                "nothing is written after it. `arco doctor` lists every damaged object",
            )
            return
        super().__init__(
            f"Metadata object {key!r} is unreadable: {reason}",
            hint="Run `arco doctor --repair`: it moves damaged objects aside and rebuilds "
            "what the log and the inbox still hold",
        )


class NamespaceNotFound(CatalogError, KeyError):
    """The namespace does not exist in the catalog version being read."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        super().__init__(
            f"Namespace {namespace!r} does not exist",
            hint="Create it with catalog.create_namespace() or check the spelling",
        )


class TableNotFound(CatalogError, KeyError):
    """The table does not exist in the catalog version being read."""

    def __init__(self, table: str, *, suggestions: Sequence[str] = ()) -> None:
        self.table = table
        self.suggestions = tuple(suggestions)
        super().__init__(f"Table {table!r} does not exist", hint=_did_you_mean(suggestions))


class AssetDefinitionError(ArcoError, ValueError):
    """An asset's code, dependencies or options cannot be used; ``asset`` names it."""

    def __init__(self, asset: str, problem: str, *, hint: str | None = None) -> None:
        self.asset = asset
        self.problem = problem
        super().__init__(f"Asset {asset!r}: {problem}", hint=hint)


class AssetNotFound(ArcoError, KeyError):
    """No asset of that name is defined.

    Attributes
    ----------
    asset
        The name that was asked for.
    suggestions
        Defined names close to it, best first.
    needed_by
        The asset that depends on it, when that is how it was asked for.
    """

    def __init__(
        self, asset: str, *, suggestions: Sequence[str] = (), needed_by: str | None = None
    ) -> None:
        self.asset = asset
        self.suggestions = tuple(suggestions)
        self.needed_by = needed_by
        hint = _did_you_mean(suggestions) or "Define it with @arco.asset or a %%asset cell"
        where = f" (a dependency of {needed_by!r})" if needed_by else ""
        super().__init__(f"Unknown asset {asset!r}{where}", hint=hint)


class CycleError(ArcoError, ValueError):
    """Asset dependencies form a cycle; ``cycle`` lists it, first node repeated at the end."""

    def __init__(self, cycle: Iterable[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(
            "Dependency cycle: " + " -> ".join(self.cycle),
            hint="Remove one of these dependencies",
        )


class SelectionError(ArcoError, ValueError):
    """A selection expression (``+name``, ``tag:x``, ...) cannot be parsed."""

    def __init__(self, selection: str, *, reason: str) -> None:
        self.selection = selection
        super().__init__(
            f"Cannot parse selection {selection!r}: {reason}",
            hint="Use name, +name, name+, +name+, tag:x, joined by commas",
        )


class RunNotFound(ArcoError, KeyError):
    """No run with this id is recorded in the workspace; ``run_id`` is what was asked for."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"No run {run_id!r}", hint="`arco runs` (or ws.runs()) lists them")


class InvalidEvent(ArcoError, ValueError):
    """An event cannot be recorded as given: not an ``Event``, a time without a timezone, or a
    payload with no JSON form. (A stored event that cannot be read is :class:`CorruptObject`.)"""


class SchemaError(ArcoError, ValueError):
    """Data does not have a schema it can be used with (the partitions of ``asset`` do not
    combine into one table, say); ``asset`` names the asset when there is one."""

    def __init__(self, message: str, *, asset: str | None = None, hint: str | None = None) -> None:
        self.asset = asset
        super().__init__(message, hint=hint)


class QueryError(ArcoError, ValueError):
    """A SQL query cannot be parsed or bound (a syntax error, an unknown table or column)."""


class QueryRefused(ArcoError, PermissionError):
    """The SQL sandbox refused a statement: it is not a read, or it reaches outside the workspace.

    Attributes
    ----------
    statement_type
        What was refused: a DuckDB statement type (``"COPY"``, ``"ATTACH"``, ``"PRAGMA threads"``)
        or ``"file access"``.
    where
        Which surface refused it (``"metadata SQL"``, ``"SQL asset 'orders'"``).
    """

    def __init__(
        self, statement_type: str, *, where: str, allowed: str, detail: str | None = None
    ) -> None:
        self.statement_type = statement_type
        self.where = where
        what = detail or f"the {statement_type} statement"
        super().__init__(f"{where} refused {what}", hint=allowed)


class SignatureInvalid(ArcoError, PermissionError):
    """A signed URL was refused: malformed, tampered with, or naming what no key may name.

    Attributes
    ----------
    reason
        Why, in a few words. The message never repeats the URL or its signature.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"Refused the signed URL: {reason}",
            hint="Ask whoever shared it for a new one (ws.signed_urls)",
        )


class SignatureExpired(ArcoError, PermissionError):
    """A signed URL was authentic but its deadline has passed.

    Attributes
    ----------
    expires_at
        When it expired (UTC).
    """

    def __init__(self, expires_at: dt.datetime) -> None:
        self.expires_at = expires_at
        super().__init__(
            f"The signed URL expired at {expires_at.isoformat()}",
            hint="Ask whoever shared it for a new one (ws.signed_urls)",
        )


class InvalidTransition(ArcoError, RuntimeError):
    """A run or task state change that the state machine does not allow."""

    def __init__(
        self,
        current: str,
        target: str,
        *,
        run_id: str | None = None,
        asset: str | None = None,
    ) -> None:
        self.current = current
        self.target = target
        self.run_id = run_id
        self.asset = asset
        what = f"task {asset!r}" if asset else "run"
        where = f" in run {run_id}" if run_id else ""
        super().__init__(f"Illegal transition of {what}{where}: {current} -> {target}")


def _did_you_mean(suggestions: Sequence[str]) -> str | None:
    if not suggestions:
        return None
    return "Did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
