"""The Tracker's windows and steps: the marks the measured code makes.

:class:`TrackerWindows` is a part of :class:`lpm.energy.Tracker` (its base class). A window
edge reads the meters (through the Tracker's sampler) so its energy does not depend on the
sampling interval; :meth:`TrackerWindows.step` only counts and never waits on a meter.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from lpm.energy import lines
from lpm.energy.tracker_checks import check_window_name
from lpm.errors import LpmError

if TYPE_CHECKING:
    from lpm.energy.accounting import Accounts
    from lpm.energy.lines import RunLog
    from lpm.energy.polling import Poller

__all__ = ["TrackerWindows", "utc_now"]


def utc_now() -> str:
    """Now (UTC) as an ISO 8601 timestamp with microseconds, as the run record writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _maybe_cuda_sync() -> None:
    """Wait for CUDA work queued so far, when torch is loaded and CUDA is in use."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    except Exception:  # a sync problem must not reach the measured job
        pass


class TrackerWindows:
    """Named windows and step marks of a Tracker's run (a base class of the Tracker)."""

    # the Tracker's state and sampler this part uses (set in Tracker.__init__)
    cuda_sync: bool
    _running: bool
    _t0: float
    _t_last: float
    _lock: threading.RLock
    _poll: Poller
    _acc: Accounts
    _log: RunLog
    _clock: Callable[[], float]
    _sample: Callable[..., Any]
    _totals: Callable[[], dict]

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Self]:
        """A named phase (``with t.window("train"):``); names may repeat."""
        self.start_window(name)
        try:
            yield self
        finally:
            self.end_window(name)

    def start_window(self, name: str) -> None:
        """Open a window (prefer ``with t.window(name)``)."""
        check_window_name(name)
        if not self._running:
            raise LpmError("start the Tracker before opening a window (`with Tracker() as t:`)")
        if self.cuda_sync:
            _maybe_cuda_sync()

        def open_window() -> None:  # runs right after the edge reading, under the lock
            self._acc.open_window(name, self._t_last, utc_now())

        self._sample(then=open_window)

    def end_window(self, name: str) -> None:
        """Close the most recent open window of this name and record it."""
        if self.cuda_sync:
            _maybe_cuda_sync()
        with self._lock:
            if not self._acc.is_open(name):
                raise LpmError(f"no open window named {name!r}; open it with t.window({name!r})")

        def close_window() -> dict | None:  # runs right after the edge reading, under the lock
            closed = self._acc.close_window(name, self._t_last, self._poll.provenance())
            if closed is None:  # closed meanwhile by another thread
                return None
            w, duration, prov = closed
            return lines.window_line(w, self._t0, duration, prov, self._totals())

        line = self._sample(then=close_window)
        if line is not None:
            self._log.write(line)

    def epoch_start(self) -> None:
        """Carbontracker-style: open a window named "epoch"."""
        self.start_window("epoch")

    def epoch_end(self) -> None:
        """Carbontracker-style: close the window named "epoch"."""
        self.end_window("epoch")

    def step(self) -> None:
        """Mark one iteration / sample / denoising step as done."""
        now = self._clock()
        with self._lock:
            self._acc.step(now)
