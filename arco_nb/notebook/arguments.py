# SPDX-License-Identifier: Apache-2.0 OR MIT
"""IPython's ``magic_arguments``, typed, so the magics type-check strictly."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar, cast

from IPython.core import magic_arguments as _ma

__all__ = ["argument", "magic_arguments", "parse_argstring", "unquote"]

F = TypeVar("F", bound=Callable[..., Any])


def magic_arguments() -> Callable[[F], F]:
    """Mark a function as taking ``argparse`` arguments (see :func:`argument`)."""
    return cast("Callable[[F], F]", _ma.magic_arguments())  # type: ignore[no-untyped-call]


def argument(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """One ``argparse`` argument of a magic."""
    return cast("Callable[[F], F]", _ma.argument(*args, **kwargs))  # type: ignore[no-untyped-call]


def parse_argstring(fn: Callable[..., Any], line: str) -> argparse.Namespace:
    """Parse ``line`` with ``fn``'s arguments; bad input raises ``UsageError``."""
    return cast("argparse.Namespace", _ma.parse_argstring(fn, line))  # type: ignore[no-untyped-call]


def unquote(value: str | None) -> str | None:
    """``'two words'`` -> ``two words``: IPython keeps the quotes that group an argument."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
