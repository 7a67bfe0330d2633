# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The ``arco`` command line (click + rich). Heavy modules load inside commands, not here."""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``arco`` with ``argv`` (default: the process arguments); return its exit code."""
    import sys

    from arco_nb.cli.app import NoPandas, cli

    args = sys.argv[1:] if argv is None else argv
    if "run" not in args and "pandas" not in sys.modules:
        # pyarrow imports pandas on its first conversion (0.2 s). Only `arco run` executes
        # code (the user's) that may want it; the other commands go without.
        sys.meta_path.insert(0, NoPandas())
    try:
        cli.main(args=argv, prog_name="arco", standalone_mode=True)
    except SystemExit as exc:  # standalone mode always ends with one
        return int(exc.code or 0)
