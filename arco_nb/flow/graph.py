# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The asset graph: resolved dependencies, a stable topological order, and selection.

Selection follows dbt's grammar so nobody learns a new one: ``name``, ``+name`` (with all
upstream), ``name+`` (with all downstream), ``+name+``, ``2+name`` / ``name+1`` (bounded
depth), ``tag:x``, and ``,`` for union.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from arco_nb.core.errors import AssetNotFound, CycleError, SelectionError
from arco_nb.flow.assets import AssetSpec

__all__ = ["AssetGraph"]

_TERM = re.compile(r"(?:(\d*)(\+))?([A-Za-z_][A-Za-z0-9_]*|tag:[A-Za-z0-9_.-]+)(?:(\+)(\d*))?")


class AssetGraph:
    """A validated DAG of asset specs.

    Raises
    ------
    AssetNotFound
        If a dependency names no defined asset (with close matches).
    CycleError
        If dependencies form a cycle (with the cycle's path).
    """

    def __init__(self, specs: Iterable[AssetSpec]) -> None:
        by_name = {s.name: s for s in specs}
        lower = {name.lower(): name for name in by_name}
        resolved: dict[str, AssetSpec] = {}
        for name, spec in by_name.items():
            deps = []
            for dep in spec.deps:
                # SQL names are case-insensitive; Python parameter names are exact.
                target = dep if dep in by_name else lower.get(dep.lower())
                if target is None:
                    close = difflib.get_close_matches(dep, list(by_name), n=3)
                    raise AssetNotFound(dep, suggestions=close, needed_by=name)
                deps.append(target)
            tidy = tuple(sorted(set(deps)))
            if tidy == spec.deps:
                resolved[name] = spec
            else:
                resolved[name] = replace(spec, deps=tidy)
                # Same deps as a set, so the same code version: keep what was computed.
                for cached in ("code_version", "partition_def"):
                    if cached in spec.__dict__:
                        resolved[name].__dict__[cached] = spec.__dict__[cached]
        self.specs: Mapping[str, AssetSpec] = resolved
        self.downstream_of: dict[str, list[str]] = {n: [] for n in resolved}
        for name, spec in resolved.items():
            for dep in spec.deps:
                self.downstream_of[dep].append(name)
        for children in self.downstream_of.values():
            children.sort()
        self.order: tuple[str, ...] = self._toposort()

    def _toposort(self) -> tuple[str, ...]:
        # Kahn's algorithm with a heap: ties break by name, so the order is deterministic.
        waiting = {n: len(s.deps) for n, s in self.specs.items()}
        ready = [n for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            for child in self.downstream_of[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, child)
        if len(order) < len(self.specs):
            raise CycleError(self._find_cycle({n for n, c in waiting.items() if c > 0}))
        return tuple(order)

    def _find_cycle(self, stuck: set[str]) -> list[str]:
        start = min(stuck)
        path: list[str] = []
        seen: dict[str, int] = {}
        node = start
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = min(d for d in self.specs[node].deps if d in stuck)
        cycle = path[seen[node] :]
        cycle.reverse()  # read as "a -> b": a feeds b
        first = cycle.index(min(cycle))  # start at the smallest name: one answer per cycle
        cycle = cycle[first:] + cycle[:first]
        return [*cycle, cycle[0]]

    def upstream(self, name: str, depth: int | None = None) -> set[str]:
        """Assets ``name`` depends on, transitively (up to ``depth`` hops)."""
        return self._walk(name, lambda n: self.specs[n].deps, depth)

    def downstream(self, name: str, depth: int | None = None) -> set[str]:
        """Assets that depend on ``name``, transitively (up to ``depth`` hops)."""
        return self._walk(name, lambda n: self.downstream_of[n], depth)

    def _walk(
        self, name: str, edges: Callable[[str], Iterable[str]], depth: int | None
    ) -> set[str]:
        self.require(name)
        found: set[str] = set()
        frontier = {name}
        hops = 0
        while frontier and (depth is None or hops < depth):
            frontier = {n for f in frontier for n in edges(f)} - found
            found |= frontier
            hops += 1
        return found

    def require(self, name: str) -> None:
        """Refuse a name that is not one asset, with :class:`AssetNotFound` and close matches."""
        if name not in self.specs:
            close = difflib.get_close_matches(name, list(self.specs), n=3)
            raise AssetNotFound(name, suggestions=close)

    def select(self, selection: str | None) -> tuple[str, ...]:
        """The assets a selection names, in topological order (``None`` or ``"*"``: all).

        An empty selection is refused rather than read as "all": ``--select "$SEL"`` with an
        unset variable must not run everything.
        """
        if selection is None or selection.strip() == "*":
            return self.order
        if not selection.strip():
            raise SelectionError(
                selection, reason="it is empty; leave it out, or write *, to select every asset"
            )
        chosen: set[str] = set()
        for raw in selection.split(","):
            term = raw.strip()
            match = _TERM.fullmatch(term)
            if match is None:
                raise SelectionError(selection, reason=f"{term!r} is not a selector")
            up_depth, up, target, down, down_depth = match.groups()
            if target.startswith("tag:"):
                if up or down:
                    raise SelectionError(selection, reason="'+' does not apply to tag:")
                tag = target[4:]
                chosen |= {n for n, s in self.specs.items() if tag in s.tags}
                continue
            self.require(target)
            chosen.add(target)
            if up:
                chosen |= self.upstream(target, int(up_depth) if up_depth else None)
            if down:
                chosen |= self.downstream(target, int(down_depth) if down_depth else None)
        return tuple(n for n in self.order if n in chosen)
