# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%load_ext arco``: the ``%%asset`` and ``%arco`` magics, their settings, and display hooks.

Settings are traitlets (``%config Arco.root = "s3://..."``). Heavy modules (pyarrow, duckdb,
polars, ipywidgets, graphviz) are not imported here, so loading stays fast; the ones a first
``%%asset`` cell needs are imported in the background right after (:mod:`.warmup`).
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class
from traitlets import Bool, CaselessStrEnum, Dict, Int, Unicode, default, observe

from arco_nb._version import __version__
from arco_nb.core.errors import ArcoError
from arco_nb.core.settings import DEFAULT_EXECUTOR, EXECUTORS, env_executor, env_sql_sandbox
from arco_nb.notebook import warmup
from arco_nb.notebook.commands import COMMANDS, load
from arco_nb.notebook.session import Session

__all__ = ["Arco", "load_extension", "unload_extension"]


@magics_class
class Arco(Magics):
    """Arco's magics and settings (``%config Arco`` lists them)."""

    root = Unicode(
        None, allow_none=True, help="Where metadata and data go (default: ARCO_ROOT or ./.arco)."
    ).tag(config=True)
    tenant = Unicode(None, allow_none=True, help="Tenant id (default: ARCO_TENANT).").tag(
        config=True
    )
    workspace = Unicode(None, allow_none=True, help="Workspace id (default: ARCO_WORKSPACE).").tag(
        config=True
    )
    storage_options = Dict(
        None,
        allow_none=True,
        help="fsspec options: credentials, endpoint_url, ... (default: ARCO_STORAGE_OPTIONS).",
    ).tag(config=True)
    executor = CaselessStrEnum(
        list(EXECUTORS),
        default_value=DEFAULT_EXECUTOR,
        help="How runs execute (default: ARCO_EXECUTOR, else inline).",
    ).tag(config=True)
    preview_rows = Int(5, min=0, help="Rows a %%asset preview shows.").tag(config=True)
    warm_up = Bool(
        True,
        help="Import DuckDB, pyarrow and polars in the background after %load_ext, so that "
        "the first cell does not wait for them.",
    ).tag(config=True)
    sql_sandbox = Bool(
        False,
        help="Run SQL assets in the SQL sandbox: read-only, upstream assets only, no files "
        "(default: ARCO_SQL_SANDBOX, else off).",
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell, **kwargs: Any) -> None:
        self.session = Session(shell, self)  # first: loading config may already notify
        super().__init__(shell, **kwargs)

    # A setting left at None comes from the environment (arco_nb.core.settings), which is also
    # how `arco run notebook.ipynb --executor threads` reaches the kernel.

    @default("executor")
    def _executor_from_env(self) -> str:
        return env_executor()

    @default("sql_sandbox")
    def _sql_sandbox_from_env(self) -> bool:
        return env_sql_sandbox()

    @observe("sql_sandbox")
    def _sandbox_changed(self, change: Any) -> None:
        self.session.sandbox_changed(change["new"])

    @observe("root", "tenant", "workspace", "storage_options")
    def _where_changed(self, change: Any) -> None:  # noqa: ARG002 - traitlets' signature
        self.session.reset()

    @cell_magic
    def asset(self, line: str, cell: str) -> Any:
        """Define an asset from this cell and materialize it: ``%%asset NAME [options]``
        (``%arco help`` lists the options)."""
        from arco_nb.notebook.asset_magic import asset_cell

        _check_text(line, cell)
        return _boundary(lambda: asset_cell(self.session, line, cell))

    @line_cell_magic
    def arco(self, line: str, cell: str | None = None) -> Any:
        """Arco's commands: ``%arco help`` lists them."""
        _check_text(line, cell)
        words = line.strip().split(maxsplit=1)
        name = words[0] if words else "help"
        rest = words[1] if len(words) > 1 else ""
        if name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f"Did you mean %arco {close[0]}? " if close else ""
            raise UsageError(f"Unknown command %arco {name}. {hint}`%arco help` lists them.")
        if cell is not None and name != "sql":
            raise UsageError(f"%%arco {name} takes no cell body; only %%arco sql does")
        command = load(name)
        return _boundary(lambda: command(self.session, rest, cell))


def _check_text(line: str, cell: str | None) -> None:
    """Refuse a lone surrogate: no file, catalog or SQL engine can store it (it is not UTF-8),
    and deep down it would fail with an encoding error instead of one line here."""
    for where, part in (("line", line), ("cell", cell or "")):
        try:
            part.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(
                f"The magic's {where} holds {part[exc.start]!r} at position {exc.start}, a lone "
                "surrogate that is not valid Unicode text; retype that part"
            ) from None


def _boundary(action: Any) -> Any:
    """Run a magic's work; Arco's own errors become one line (``UsageError``)."""
    warmup.wait()  # never import the heavy modules from two threads at once
    try:
        return action()
    except ArcoError as exc:
        raise UsageError(str(exc)) from None


def _lineage_bundle(graph: Any) -> dict[str, str]:
    from arco_nb.notebook.lineage_view import LineageView

    return LineageView(graph)._repr_mimebundle_()


def load_extension(shell: InteractiveShell) -> None:
    """Register the magics and settings in ``shell`` and say where metadata goes."""
    if any(isinstance(c, Arco) for c in shell.configurables):
        return  # loaded already
    magics = Arco(shell, parent=shell)
    shell.register_magics(magics)
    # ws.lineage(...) displays itself as a graph while the extension is loaded.
    assert shell.display_formatter is not None
    shell.display_formatter.mimebundle_formatter.for_type_by_name(
        "arco_nb",
        "LineageGraph",
        _lineage_bundle,  # public classes report module arco_nb
    )
    print(
        f"Arco {__version__}: metadata in {magics.session.where()}. %arco help lists the commands."
    )
    if magics.warm_up:
        warmup.start()


def unload_extension(shell: InteractiveShell) -> None:
    """Remove what :func:`load_extension` registered."""
    for kind in ("line", "cell"):
        table = shell.magics_manager.magics[kind]
        for name in ("arco", "asset"):
            owner = getattr(table.get(name), "__self__", None)
            if isinstance(owner, Arco):
                del table[name]
    shell.magics_manager.registry.pop("Arco", None)
    shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, Arco)]
    assert shell.display_formatter is not None
    formatter = shell.display_formatter.mimebundle_formatter
    formatter.deferred_printers.pop(("arco_nb", "LineageGraph"), None)
    try:
        from arco_nb.flow.lineage import LineageGraph

        formatter.type_printers.pop(LineageGraph, None)
    except ImportError:  # pragma: no cover
        pass
