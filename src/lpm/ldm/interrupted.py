"""Ctrl-C in lpm's loops: a KeyboardInterrupt that says what stopped and how to go on.

The loops catch the KeyboardInterrupt and raise :class:`Interrupted` (a subclass, so the
energy Tracker around them still records the run as interrupted, and nothing after them
runs: no summary.json is written as if finished). The CLI prints its message as one line,
``interrupted: ...``, and exits with code 130.
"""

from __future__ import annotations

from pathlib import Path


class Interrupted(KeyboardInterrupt):
    """A loop of lpm.ldm stopped by Ctrl-C / SIGINT; ``str()`` is the one-line message."""


def training_interrupted(
    what: str, iteration: int, total: int, checkpoint: Path, saved_at: int | None
) -> Interrupted:
    """The Interrupted of a training stage at ITERATION of TOTAL; SAVED_AT: its checkpoint's."""
    if saved_at is None:
        then = "no checkpoint was written yet; run the same command again to start over"
    else:
        then = (
            f"checkpoint at {checkpoint} (iteration {saved_at}); run the same command again "
            "to resume from it"
        )
    what = what if what.startswith("train") else f"{what} training"
    return Interrupted(f"{what} stopped at iteration {iteration} of {total}; {then}")


def sampling_interrupted(out: Path, written: int, n: int) -> Interrupted:
    """The Interrupted of a sampling run that had written WRITTEN of N samples into OUT."""
    return Interrupted(
        f"sampling stopped after {written} of {n} samples in {out} (no summary.json); "
        "sample again with --replace"
    )


__all__ = ["Interrupted", "sampling_interrupted", "training_interrupted"]
