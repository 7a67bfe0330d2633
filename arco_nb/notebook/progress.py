# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Live progress of a run in the cell that started it: a bar and the tasks running or just
finished, updated in place (one display, ``display_id``) and emptied when the run ends, where
the summary table takes over.

Only in a kernel (Jupyter, ``arco run``), whose front end updates a display in place; a
terminal IPython would print every update. The display is made when the run starts, so a cell
always has the same outputs, however long its run took. It is fed the run's events (the
engine's ``observer``), on whichever thread emits them, and redraws :data:`REDRAW_EVERY`
seconds after a change, from a timer: a run of a thousand trivial tasks must not spend its time
drawing, and what shows is what runs now.
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.vocabulary import plural, state_word

if TYPE_CHECKING:
    from arco_nb.catalog.events import Event

__all__ = ["REDRAW_EVERY", "RunProgress", "run_progress"]

REDRAW_EVERY = 0.1  # seconds
_DONE = frozenset({"succeeded", "failed", "skipped", "up_to_date", "abandoned"})
_BAR = 24  # characters of the text bar
_SHOWN = 8  # task rows shown: the running ones first, then the latest to finish


class _View:
    """What the display shows now (text for terminals and stored notebooks, HTML in Lab)."""

    def __init__(self, text: str, markup: str) -> None:
        self.text, self.markup = text, markup

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.markup


class RunProgress:
    """Counts a run's tasks from its events and draws them; :meth:`close` empties the display.

    ``display`` is IPython's ``display`` (what a kernel's front end shows).
    """

    def __init__(self, display: Any) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], str] = {}
        self._timer: threading.Timer | None = None
        self._closed = False
        # Empty until the first redraw, as after the last: a notebook checked by replaying it
        # (nbval sees the first state, nbclient stores the last) gets the same output.
        self._handle = display(_View("", ""), display_id=True)

    def __call__(self, event: Event) -> None:
        if event.kind != "task":
            return
        with self._lock:
            self._states[(event.asset, event.partition)] = str(event.payload.get("status", ""))
            # Drawn a moment later, as things are then: the task that just started shows as
            # running, and a burst of events is one update.
            if self._timer is None and not self._closed:
                self._timer = threading.Timer(REDRAW_EVERY, self._redraw)
                self._timer.daemon = True
                self._timer.start()

    def _redraw(self) -> None:
        with self._lock:
            self._timer = None
            if not self._closed:
                self._handle.update(self._view())

    def close(self) -> None:
        """The run ended: empty the display (the summary is the cell's result)."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            self._handle.update(_View("", ""))

    def _view(self) -> _View:
        total = len(self._states)
        done = sum(1 for s in self._states.values() if s in _DONE)
        filled = round(_BAR * done / total) if total else 0
        running = [k for k, s in self._states.items() if s == "running"]
        finished = [k for k, s in self._states.items() if s in _DONE and s != "up_to_date"]
        rows = [
            (f"{a}[{p}]" if p else a, state_word(self._states[(a, p)]))
            for a, p in [*running, *reversed(finished)][:_SHOWN]
        ]
        head = f"{done}/{plural(total, 'task')}"
        lines = [f"{'█' * filled}{'░' * (_BAR - filled)} {head}"]
        lines += [f"  {name}: {word}" for name, word in rows]
        cells = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(word)}</td></tr>"
            for name, word in rows
        )
        markup = (
            f'<div class="arco-progress"><progress value="{done}" max="{max(total, 1)}">'
            f"</progress> {html.escape(head)}<table>{cells}</table></div>"
        )
        return _View("\n".join(lines), markup)


def run_progress(shell: Any) -> RunProgress | None:
    """A progress display for a run started in ``shell``, if it is a kernel's."""
    if getattr(shell, "kernel", None) is None:
        return None
    from IPython.display import display

    return RunProgress(display)
