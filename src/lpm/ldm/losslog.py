"""The per-iteration loss log of a training run (JSON Lines), cut back to a resumed start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from lpm.io import atomic_write_text


class LossLog:
    """`{"iteration": i, "loss": x}` lines appended to PATH; a no-op where not ENABLED.

    On entering, lines after KEEP_UP_TO (written after the checkpoint a run resumes from)
    are dropped, so a resumed run's log holds each iteration once.
    """

    def __init__(self, path: Path, keep_up_to: int, *, enabled: bool = True) -> None:
        self.path = Path(path)
        self.keep_up_to = keep_up_to
        self.enabled = enabled
        self._fh: IO[str] | None = None

    def __enter__(self) -> LossLog:
        if self.enabled:
            self._trim()
            self._fh = open(self.path, "a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def write(self, iteration: int, loss: float) -> None:
        """One line for ITERATION (1-based: iterations done)."""
        if self._fh is not None:
            self._fh.write(json.dumps({"iteration": iteration, "loss": loss}) + "\n")

    def flush(self) -> None:
        """Hand the lines written so far to the OS (before a checkpoint)."""
        if self._fh is not None:
            self._fh.flush()

    def _trim(self) -> None:
        if not self.path.exists():
            return
        lines = [
            line
            for line in self.path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["iteration"] <= self.keep_up_to
        ]
        atomic_write_text(self.path, "".join(f"{line}\n" for line in lines))
