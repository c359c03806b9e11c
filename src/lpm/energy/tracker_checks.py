"""Checks of a Tracker's settings and arguments, and the status a run ends with.

Each check raises one :class:`~lpm.errors.LpmError` sentence that says what was wrong and
what to do, before anything is measured or written.
"""

from __future__ import annotations

import re

from lpm.energy.accounting import ALL_STEPS
from lpm.energy.results import RUN_STATUSES
from lpm.errors import LpmError

__all__ = [
    "MAX_INTERVAL_S",
    "MAX_RUN_NAME",
    "check_count",
    "check_end_status",
    "check_run_name",
    "check_settings",
    "check_window_name",
    "exit_status",
]

MAX_INTERVAL_S = 86_400.0
"""Longest sampling or checkpoint interval (a day); longer ones overflow the thread's wait."""
MAX_RUN_NAME = 100
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_name(name: str | None) -> None:
    """LpmError unless `name` is a plain file-name part: letters, digits, '.', '_', '-'.

    The run id (name-time-hex) names the record file inside ``log_dir``; a name with '/',
    '..' or control characters would write elsewhere or make folders `runs show` cannot find.
    """
    if name is None:
        return
    if len(name) > MAX_RUN_NAME or not _RUN_NAME.match(name) or ".." in name:
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise LpmError(
            f"run name {shown!r} must be 1 to {MAX_RUN_NAME} letters, digits, '.', '_' or '-' "
            "(no '/', '..' or spaces); choose another --run-name."
        )


def check_count(label: str, value: object) -> None:
    """LpmError unless ``value`` is a whole number >= 0 (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LpmError(f"{label} must be a whole number >= 0, not {value!r}")


def check_settings(
    *,
    interval_s: float,
    checkpoint_s: float,
    run_name: str | None,
    warmup_steps: int,
    read_timeout_s: float,
) -> None:
    """LpmError for the first of a Tracker's settings that cannot work."""
    for label, value in (("interval_s", interval_s), ("checkpoint_s", checkpoint_s)):
        if not 0 < value <= MAX_INTERVAL_S:
            raise LpmError(
                f"{label} must be a number of seconds above 0 and at most "
                f"{MAX_INTERVAL_S:g}, not {value}"
            )
    check_run_name(run_name)
    check_count("warmup_steps", warmup_steps)
    if not read_timeout_s > 0:
        raise LpmError(f"read_timeout_s must be a positive number of seconds, not {read_timeout_s}")


def check_window_name(name: object) -> None:
    """LpmError unless ``name`` can name a window: a non-empty string, not the all-steps key."""
    if not isinstance(name, str) or not name or name == ALL_STEPS:
        raise LpmError(f"a window needs a non-empty name other than {ALL_STEPS!r}")


def check_end_status(status: str) -> None:
    """LpmError unless ``status`` is one a run can end with (finished, interrupted, failed)."""
    if status not in RUN_STATUSES[:3]:
        raise LpmError(f"status must be one of {', '.join(RUN_STATUSES[:3])}, not {status!r}")


def exit_status(exc: object) -> str:
    """The status of a run whose ``with`` block ended with ``exc`` (None: no exception).

    KeyboardInterrupt is ``interrupted``; ``SystemExit`` with code 0 (or None) ``finished``;
    any other exception ``failed``.
    """
    if exc is None:
        return "finished"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "finished"
    return "failed"
