# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%load_ext arco``: registers the ``%arco`` line magic.

Only ``%arco help`` exists in this release; ``%%asset`` and the other ``%arco`` subcommands come
with the notebook layer. Asking for one of them says so instead of pretending.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_magic, magics_class

from arco_nb._version import __version__

HELP = f"""\
Arco {__version__} - notebook-first data catalog and asset orchestrator.

Available now:
  %arco help      this message

This release ships the storage core: object store, tenant scopes and ids.
Not available yet: the %%asset cell magic and the other %arco subcommands."""


@magics_class
class ArcoMagics(Magics):
    """The ``%arco`` line magic."""

    @line_magic
    def arco(self, line: str) -> None:
        """Arco's notebook commands; ``%arco help`` lists them."""
        words = line.split()
        command = words[0] if words else "help"
        if command == "help":
            print(HELP)
            return
        raise UsageError(
            f"%arco {command} is not available in Arco {__version__}; `%arco help` lists what is."
        )


def load(shell: InteractiveShell) -> None:
    """Register Arco's magics in ``shell``."""
    shell.register_magics(ArcoMagics)


def unload(shell: InteractiveShell) -> None:
    """Remove Arco's magics from ``shell``."""
    line_magics = shell.magics_manager.magics["line"]
    if getattr(line_magics.get("arco"), "__self__", None).__class__ is ArcoMagics:
        del line_magics["arco"]
    shell.magics_manager.registry.pop("ArcoMagics", None)
