"""A job's measurement that survives a kill: a rerun goes on where the killed one stopped.

A job killed mid-way (Ctrl-C, ``scancel``, a Slurm preemption and requeue) leaves its
work folder behind. When the same job is measured again with the same settings, its
training resumes from its last checkpoint (lpm.ldm does that, and pools the segments'
step statistics: :mod:`lpm.ldm.segments`), and the parts that had finished (the training
run, each sampling run) are taken as they were, not run again. The settings and the
finished parts are kept in ``WORK_DIR/progress``; other settings start the job over
(the folder is emptied), and a job that finished removes its progress.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lpm.io import atomic_write_text, read_json_object

PROGRESS = "progress"
PLAN = "plan.json"

__all__ = ["Progress"]


class Progress:
    """What of one job's measurement is done, in ``WORK_DIR/progress``."""

    def __init__(self, work_dir: Path, plan: dict[str, Any]) -> None:
        self.work_dir = Path(work_dir)
        self.folder = self.work_dir / PROGRESS
        self.plan = json.loads(json.dumps(plan, default=str))  # as it reads back

    def open(self) -> bool:
        """Keep the work folder of a killed measurement with this plan (True), else empty it."""
        if read_json_object(self.folder / PLAN) == self.plan:
            return True
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / PLAN, json.dumps(self.plan, indent=2) + "\n")
        return False

    def done(self, part: str) -> dict[str, Any] | None:
        """The result of PART when an earlier process finished it, else None."""
        return read_json_object(self.folder / f"{part}.json") or None

    def finish(self, part: str, result: dict[str, Any]) -> dict[str, Any]:
        """Keep PART's result (as JSON reads it back) and return it."""
        text = json.dumps(result, default=str)
        atomic_write_text(self.folder / f"{part}.json", text + "\n")
        return json.loads(text)

    def close(self) -> None:
        """The job is measured: nothing is left to resume."""
        shutil.rmtree(self.folder, ignore_errors=True)
