# SPDX-License-Identifier: Apache-2.0 OR MIT
"""IPython's ``magic_arguments``, typed, so the magics type-check strictly."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar, cast

from IPython.core import magic_arguments as _ma
from IPython.core.error import UsageError

__all__ = ["argument", "magic_arguments", "parse_argstring", "unquote"]

F = TypeVar("F", bound=Callable[..., Any])


def magic_arguments() -> Callable[[F], F]:
    """Mark a function as taking ``argparse`` arguments (see :func:`argument`)."""
    return cast("Callable[[F], F]", _ma.magic_arguments())  # type: ignore[no-untyped-call]


def argument(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """One ``argparse`` argument of a magic."""
    return cast("Callable[[F], F]", _ma.argument(*args, **kwargs))  # type: ignore[no-untyped-call]


def parse_argstring(fn: Callable[..., Any], line: str) -> argparse.Namespace:
    """Parse ``line`` with ``fn``'s arguments; bad input raises ``UsageError``.

    Quotes that group an argument are removed, as a shell removes them: ``'my lake'`` and
    ``"2024-01-01..2024-01-31"`` mean what they say, not a path or range with quotes in it.
    """
    try:
        args = cast("argparse.Namespace", _ma.parse_argstring(fn, line))  # type: ignore[no-untyped-call]
    except ValueError as exc:  # IPython splits the line with shlex: an unclosed quote
        raise UsageError(f"Cannot read the arguments {line.strip()!r}: {exc}") from None
    for name, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, name, unquote(value))
        elif isinstance(value, list):
            setattr(args, name, [unquote(v) if isinstance(v, str) else v for v in value])
    return args


def unquote(value: str | None) -> str | None:
    """``'two words'`` -> ``two words``: IPython keeps the quotes that group an argument."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
