# SPDX-License-Identifier: Apache-2.0 OR MIT
"""What a notebook's Arco session holds: its settings, its workspace, its open browsers."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from arco_nb.core.settings import RUNS_FILE_VARIABLE

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from arco_nb.catalog.events import Event
    from arco_nb.core.settings import ExecutorName
    from arco_nb.flow.execute import RunResult
    from arco_nb.workspace import Workspace

__all__ = ["Session", "Settings"]


class Settings(Protocol):
    """The ``%config Arco.*`` traits a session reads."""

    root: str | None
    tenant: str | None
    workspace: str | None

    storage_options: dict[str, Any]  # None (from the environment) at run time, as traitlets type it
    executor: str
    preview_rows: int
    sql_sandbox: bool


class Refreshable(Protocol):
    def refresh(self) -> None: ...


class Session:
    """One notebook's Arco state. Reset when a setting that picks the workspace changes."""

    def __init__(self, shell: InteractiveShell, settings: Settings) -> None:
        self.shell = shell
        self.settings = settings
        self._workspace: Workspace | None = None
        self._browsers: weakref.WeakSet[Any] = weakref.WeakSet()
        self._names: set[str] = set()  # assets this session restored or defined by cell

    @property
    def workspace(self) -> Workspace:
        """The workspace in use; on first use, the catalog's asset definitions are restored."""
        if self._workspace is None:
            from arco_nb.workspace import Workspace

            ws = Workspace(
                self.settings.root or None,
                tenant=self.settings.tenant or None,
                workspace=self.settings.workspace or None,
                storage_options=self.settings.storage_options or None,
                sandbox=self.settings.sql_sandbox,
            )
            self._names.update(ws.restore(namespace=self.shell.user_ns))
            self._workspace = ws
        return self._workspace

    def reset(self) -> None:
        """Forget the workspace (settings changed); the next use opens the new one.

        Definitions that came from the old workspace (restored, or cells run against it) are
        forgotten too, so the new workspace's own definitions are the ones that count.
        """
        if self._workspace is not None:
            for name in self._names:
                self._workspace.registry.remove(name)
        self._names.clear()
        self._workspace = None

    def sandbox_changed(self, sandbox: bool) -> None:
        """``%config Arco.sql_sandbox`` changed: the next run uses the new setting."""
        if self._workspace is not None:
            self._workspace.sandbox = bool(sandbox)

    def executor(self, choice: str | None = None) -> ExecutorName:
        """The executor for a run: ``choice``, else ``%config Arco.executor``, else
        ``ARCO_EXECUTOR``, else inline."""
        from arco_nb.core.settings import executor_name

        return executor_name(choice or self.settings.executor)

    def run(
        self,
        selection: str | None = None,
        *,
        executor: str | None = None,
        progress: bool = False,
        **kwargs: Any,
    ) -> RunResult:
        """Run in this session's workspace (``Workspace.run``) with its executor; with
        ``progress``, a live display of the run's tasks in a kernel (emptied when it ends).

        Under ``arco run NOTEBOOK``, each run's id is also appended to the file that
        ``ARCO_RUNS_FILE`` names, as the run starts: that is how the command knows which runs
        are its own, whatever other processes run on the same workspace meanwhile.
        """
        ws = self.workspace
        observers = [_runs_file_observer(ws.scope.tenant, ws.scope.workspace)]
        shown = None
        if progress:
            from arco_nb.notebook.progress import run_progress

            shown = run_progress(self.shell)
            observers.append(shown)
        try:
            return ws.run(
                selection,
                executor=self.executor(executor),
                observer=_fan_out([o for o in observers if o is not None]),
                **kwargs,
            )
        finally:
            if shown is not None:
                shown.close()

    def defined(self, name: str) -> None:
        """A cell defined ``name`` in this session's workspace."""
        self._names.add(name)

    def where(self) -> str:
        """Where metadata goes and why, in one line."""
        from arco_nb.core.settings import Settings

        return Settings.from_env(
            root=self.settings.root or None,
            tenant=self.settings.tenant or None,
            workspace=self.settings.workspace or None,
            storage_options=self.settings.storage_options or None,
        ).describe("this notebook's setting (%arco use, %config Arco.root)")

    def watch(self, browser: Refreshable) -> None:
        """Refresh ``browser`` whenever this session materializes something."""
        self._browsers.add(browser)

    def changed(self) -> None:
        """Something was materialized or defined: refresh open browsers."""
        from arco_nb.core.errors import ArcoError

        for browser in list(self._browsers):
            try:
                browser.refresh()
            except ArcoError:  # a browser must never break the cell that materialized
                continue


def _fan_out(observers: list[Callable[[Event], None]]) -> Callable[[Event], None] | None:
    if len(observers) < 2:
        return observers[0] if observers else None

    def each(event: Event) -> None:
        for observer in observers:
            observer(event)

    return each


def _runs_file_observer(tenant: str, workspace: str) -> Callable[[Event], None] | None:
    path = os.environ.get(RUNS_FILE_VARIABLE)
    if not path:
        return None

    def note(event: Event) -> None:
        if event.kind == "run" and event.payload.get("status") == "queued":
            # With its workspace: a notebook may switch (%arco use --workspace tutorial-01).
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{event.run_id} {tenant} {workspace}\n")

    return note
