"""Slurm jobs of a study: their sbatch options, the controller check, the submissions log.

The options come from the spec's ``slurm:`` block, overridden by ``lpm study``'s
``--slurm-*`` flags (:func:`slurm_options`). Before anything is submitted the controller
must answer ``scontrol ping`` (:func:`check_controller`), so a cluster that is down is one
line, not a traceback from inside submitit. Each submission is one line of
``DIR/slurm/jobs.jsonl`` (:func:`note_submission`), which is how lpm later asks ``sacct``
about every job of the study (lpm.study.slurm_acct).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import append_jsonl, read_jsonl_objects
from lpm.study.slurm_spec import SlurmSettings, sbatch_key, slurm_minutes
from lpm.study.spec import StudyRun

JOBS_NAME = "jobs.jsonl"
DEFAULT_TIME_MIN = 24 * 60


@dataclass(frozen=True)
class SlurmOptions:
    """What every Slurm job of a study asks for."""

    time_min: int = DEFAULT_TIME_MIN
    partition: str | None = None
    account: str | None = None
    gpus_per_task: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def submitit_parameters(self, processes: int) -> dict[str, Any]:
        """submitit's parameters of a job with `processes` training processes (one task)."""
        params: dict[str, Any] = {"timeout_min": self.time_min, "tasks_per_node": 1, "nodes": 1}
        if self.gpus_per_task * processes > 0:
            params["slurm_gpus_per_node"] = self.gpus_per_task * processes
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.account:
            params["slurm_account"] = self.account
        if self.extra:
            params["slurm_additional_parameters"] = dict(self.extra)
        return params


def parse_option(text: str) -> tuple[str, str]:
    """``--slurm-option KEY=VALUE`` as (sbatch option name, value); LpmError when malformed."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise LpmError(f"--slurm-option {text!r}: give KEY=VALUE, e.g. --slurm-option qos=high")
    try:
        return sbatch_key(key), value.strip()
    except ValueError as exc:
        raise LpmError(f"--slurm-option {text!r}: {exc}") from None


def slurm_options(
    settings: SlurmSettings, run: StudyRun, cli_options: Sequence[str] = ()
) -> SlurmOptions:
    """The spec's ``slurm:`` block with the flags given to ``lpm study`` on top.

    ``--slurm-option`` holds KEY=VALUE words (shell quoting); `cli_options` are more
    KEY=VALUE strings from a caller, applied last.
    """
    time_min = DEFAULT_TIME_MIN
    if settings.time is not None:
        time_min = slurm_minutes(settings.time)
    if "slurm_timeout_min" in run.model_fields_set:
        time_min = run.slurm_timeout_min
    if run.slurm_time is not None:
        try:
            time_min = slurm_minutes(run.slurm_time)
        except ValueError as exc:
            raise LpmError(f"--slurm-time: {exc}; fix the flag and run again") from None
    extra = {sbatch_key(k): str(v) for k, v in settings.options.items()}
    if run.slurm_option:
        try:
            words = shlex.split(run.slurm_option)
        except ValueError as exc:
            raise LpmError(f"--slurm-option {run.slurm_option!r}: {exc}") from None
        extra.update(parse_option(text) for text in words)
    extra.update(parse_option(text) for text in cli_options)
    gpus = run.slurm_gpus_per_task
    return SlurmOptions(
        time_min=time_min,
        partition=run.slurm_partition or settings.partition,
        account=run.slurm_account or settings.account,
        gpus_per_task=settings.gpus_per_task if gpus is None else gpus,
        extra=extra,
    )


def check_controller(timeout_s: float = 15.0) -> None:
    """Return if the Slurm controller answers ``scontrol ping``; else one LpmError line."""
    if shutil.which("scontrol") is None:
        raise LpmError(
            "Slurm was not found (no scontrol on PATH); run on a Slurm login node "
            "or use --executor local"
        )
    try:
        res = subprocess.run(
            ["scontrol", "ping"], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        res = None
    said = "" if res is None else " ".join((res.stdout + res.stderr).split())
    if res is None or " is UP" not in said:  # a backup controller down is no reason
        why = f"no answer in {timeout_s:g} s" if res is None else said.split("*")[0].strip()
        raise LpmError(
            f"the Slurm controller does not answer (scontrol ping: {why}); start slurmctld, "
            "check SLURM_CONF, or use --executor local"
        )


def note_submission(folder: Path, slurm_job_id: str, lpm_job: str, scenario_ids: list[str]) -> None:
    """One line of ``FOLDER/jobs.jsonl``: which Slurm job runs which of lpm's jobs."""
    folder.mkdir(parents=True, exist_ok=True)
    line = {
        "slurm_job_id": str(slurm_job_id),
        "job": lpm_job,
        "scenario_ids": list(scenario_ids),
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    append_jsonl(folder / JOBS_NAME, [json.dumps(line)])


def submissions(folder: Path) -> list[dict[str, Any]]:
    """Every line of ``FOLDER/jobs.jsonl`` (none: [])."""
    return read_jsonl_objects(folder / JOBS_NAME, key="slurm_job_id")
