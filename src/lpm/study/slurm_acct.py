"""Slurm's own accounting of a study's jobs: one ``sacct`` call, DIR/slurm_acct.jsonl.

After a study on Slurm, :func:`collect` asks ``sacct`` once about every job in
``DIR/slurm/jobs.jsonl`` (never once per job or per reading) and writes one JSON line per
job: Slurm's elapsed time, the CPU time its processes used, its allocated CPU time and the
energy Slurm's energy plugin saw (``ConsumedEnergy``; None where the cluster has none),
beside the lpm job and scenarios it ran. The report (lpm.report.slurm_section) shows
them next to lpm's own figures.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.study.slurm import submissions

log = logging.getLogger(__name__)

ACCT_NAME = "slurm_acct.jsonl"
FIELDS = (
    "JobID,JobName,State,ElapsedRaw,TotalCPU,CPUTimeRAW,ConsumedEnergyRaw,"
    "AllocTRES,Account,Partition,NodeList"
)
UNFINISHED = ("PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class SacctJob:
    """One Slurm job as ``sacct`` accounts it (times in s, energy in J)."""

    job_id: str
    name: str
    state: str
    elapsed_s: float
    cpu_time_s: float  # TotalCPU: user + system time of the job's processes
    alloc_cpu_s: float  # CPUTimeRAW: allocated CPUs x elapsed
    consumed_energy_j: float | None  # None: no energy plugin (sacct says 0 or nothing)
    alloc_tres: str = ""
    account: str = ""
    partition: str = ""
    nodes: str = ""
    job: str | None = None  # lpm's job (DIR/slurm/jobs.jsonl)
    scenario_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scenario_ids"] = list(self.scenario_ids)
        return out


def duration_s(text: str) -> float:
    """Seconds of a sacct duration: ``[D-][HH:]MM:SS[.mmm]`` (TotalCPU's form)."""
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", text.strip())
    if m is None:
        raise ValueError(f"not a sacct duration: {text!r}")
    days, hours, minutes, seconds = m.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def _energy(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    # 0: no plugin; values near 2**64 are Slurm's NO_VAL (no reading)
    return value if 0 < value < 2**63 else None


def parse_sacct(text: str) -> list[SacctJob]:
    """The jobs in ``sacct --parsable2 --noheader -o FIELDS`` output.

    Each job's own line gives its times; its energy is the job line's, else its batch
    step's (which spans the whole job; steps inside it are not added again).
    """
    names = FIELDS.split(",")
    jobs: dict[str, dict[str, str]] = {}
    step_energy: dict[str, dict[str, float | None]] = {}
    for line in text.splitlines():
        cells = line.split("|")
        if len(cells) != len(names):
            continue
        row = dict(zip(names, cells, strict=True))
        job_id, _, step = row["JobID"].partition(".")
        if step:
            step_energy.setdefault(job_id, {})[step] = _energy(row["ConsumedEnergyRaw"])
        else:
            jobs[job_id] = row
    out = []
    for job_id, row in jobs.items():
        energy = _energy(row["ConsumedEnergyRaw"])
        steps = step_energy.get(job_id, {})
        if energy is None:
            energy = steps.get("batch")
        if energy is None:
            energy = max((e for e in steps.values() if e is not None), default=None)
        try:
            cpu = duration_s(row["TotalCPU"])
        except ValueError:
            cpu = 0.0
        out.append(
            SacctJob(
                job_id=job_id,
                name=row["JobName"],
                state=row["State"].split()[0] if row["State"] else "",
                elapsed_s=float(row["ElapsedRaw"] or 0),
                cpu_time_s=cpu,
                alloc_cpu_s=float(row["CPUTimeRAW"] or 0),
                consumed_energy_j=energy,
                alloc_tres=row["AllocTRES"],
                account=row["Account"],
                partition=row["Partition"],
                nodes=row["NodeList"],
            )
        )
    return out


def read_sacct(
    job_ids: Sequence[str], *, runner: Runner = subprocess.run, timeout_s: float = 60.0
) -> list[SacctJob]:
    """Slurm's accounting of JOB_IDS from one ``sacct`` call; LpmError if sacct fails."""
    ids = [str(j) for j in job_ids]
    if not ids:
        return []
    if runner is subprocess.run and shutil.which("sacct") is None:
        raise LpmError("sacct was not found; Slurm's accounting cannot be read here")
    argv = ["sacct", "--parsable2", "--noheader", "-j", ",".join(ids), "-o", FIELDS]
    try:
        res = runner(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise LpmError(f"sacct gave no answer in {timeout_s:g} s") from None
    if res.returncode != 0:
        said = " ".join((res.stderr or res.stdout).split())
        raise LpmError(f"sacct failed: {said}; is accounting (slurmdbd) set up?")
    return parse_sacct(res.stdout)


def collect(
    out_dir: Path,
    folder: Path | None = None,
    *,
    runner: Runner = subprocess.run,
    settle_s: float = 30.0,
) -> list[SacctJob] | None:
    """Write DIR/slurm_acct.jsonl for every job in FOLDER/jobs.jsonl (default DIR/slurm).

    Jobs that accounting still shows running (the controller reports a job's end to
    slurmdbd a moment later) are asked about again for up to `settle_s`. Returns the jobs
    written, or None when there is nothing to ask or sacct fails (a warning, not an error:
    the study's own results stand without Slurm's).
    """
    subs = submissions(folder or out_dir / "slurm")
    if not subs:
        return None
    by_id = {s["slurm_job_id"]: s for s in subs}  # a job id submitted twice: the last
    deadline = time.monotonic() + settle_s
    while True:
        try:
            got = read_sacct(list(by_id), runner=runner)
        except LpmError as exc:
            log.warning("Slurm's accounting is not in the report: %s", exc)
            return None
        if all(j.state not in UNFINISHED for j in got) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    jobs = [
        replace(
            j,
            job=by_id[j.job_id].get("job"),
            scenario_ids=tuple(by_id[j.job_id].get("scenario_ids") or ()),
        )
        for j in got
        if j.job_id in by_id
    ]
    text = "".join(json.dumps(j.to_dict()) + "\n" for j in jobs)
    atomic_write_text(out_dir / ACCT_NAME, text)
    return jobs
