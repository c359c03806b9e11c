"""The report's section "Slurm's accounting beside lpm's", from DIR/slurm_acct.jsonl.

One row per Slurm job of the study: Slurm's elapsed time, CPU time and ConsumedEnergy
(lpm.study.slurm_acct wrote them from one sacct call) next to lpm's own run time and
measured energy of the scenarios that job ran. A study that did not run on Slurm has no
such file and no section (empty string).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lpm.io import read_jsonl_objects
from lpm.report.html import esc, num, prov_mark, table
from lpm.results import ScenarioRecord

ACCT_NAME = "slurm_acct.jsonl"
HEADING = "<h2 id='slurm'>Slurm's accounting beside lpm's</h2>"


def read_acct(study_dir: Path) -> list[dict[str, Any]]:
    """The jobs in DIR/slurm_acct.jsonl (a missing file or a bad line: left out)."""
    return read_jsonl_objects(Path(study_dir) / ACCT_NAME, key="job_id")


def lpm_energy_j(records: Sequence[ScenarioRecord]) -> float | None:
    """lpm's measured energy in one job: its training steps once, each sampling run once."""
    total, seen = None, set()
    train = next((r.train for r in records if r.train is not None), None)
    if train is not None:
        total = train.step_stats.energy_j_mean * train.step_stats.count
    for rec in records:
        s = rec.sample
        if s is not None and s.steps not in seen:
            seen.add(s.steps)
            total = (total or 0.0) + s.samples * s.energy_per_sample_j_mean
    return total


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _n(value: float | None) -> str:
    """Seconds or joules: whole numbers from 100 on (sacct's own resolution), else 3 digits."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else num(value)


def resumed_note(records: Sequence[ScenarioRecord]) -> str:
    """ " – resumed at iteration N" when the job's training went on after a kill, else ""."""
    at = sorted({i for r in records if r.train is not None for i in r.train.resumed_at})
    if not at:
        return ""
    return "<br>training killed and resumed from its checkpoint at iteration " + ", ".join(
        f"{i:,}" for i in at
    )


def _row(job: dict[str, Any], records: Sequence[ScenarioRecord]) -> list[str]:
    slurm_j = _f(job.get("consumed_energy_j"))
    lpm_j = lpm_energy_j(records)
    prov = records[0].provenance if records else None
    ratio = f"{slurm_j / lpm_j:,.2f}" if slurm_j and lpm_j else "–"
    scenarios = ", ".join(job.get("scenario_ids") or []) or "–"
    lpm_s = max((r.duration_s for r in records), default=None)
    return [
        esc(job["job_id"]),
        f"{esc(job.get('job') or job.get('name', ''))}<br><span class='small'>"
        f"{esc(scenarios)}{resumed_note(records)}</span>",
        esc(job.get("state", "")),
        _n(_f(job.get("elapsed_s"))),
        _n(lpm_s),
        _n(_f(job.get("cpu_time_s"))),
        _n(_f(job.get("alloc_cpu_s"))),
        "no energy plugin" if slurm_j is None else _n(slurm_j),
        _n(lpm_j) + (prov_mark(prov) if lpm_j is not None else ""),
        ratio,
    ]


def slurm_section(study_dir: Path, records: Sequence[ScenarioRecord]) -> str:
    """The section's HTML, or "" when the study has no Slurm accounting."""
    jobs = read_acct(study_dir)
    if not jobs:
        return ""
    by_id = {r.scenario_id: r for r in records}
    rows = []
    for job in jobs:
        recs = [by_id[s] for s in job.get("scenario_ids") or [] if s in by_id]
        rows.append(_row(job, recs))
    with_energy = sum(1 for j in jobs if _f(j.get("consumed_energy_j")) is not None)
    headers = [
        "Slurm job", "lpm job (scenarios)", "state", "Slurm elapsed s", "lpm run s",
        "Slurm CPU time s", "allocated CPU s", "Slurm energy J", "lpm measured J",
        "Slurm / lpm",
    ]  # fmt: skip
    intro = (
        f"<p>{len(jobs)} Slurm jobs ran this study's scenarios; {with_energy} have an energy "
        "reading from the cluster's energy plugin (<code>ConsumedEnergy</code>). "
        "Slurm's elapsed time spans the whole job (start-up, the autoencoder, sampling), "
        "lpm's run time only its measurement; Slurm's CPU time is what the job's processes "
        "used (<code>TotalCPU</code>), allocated CPU time is CPUs × elapsed. Slurm's energy "
        "is the node's (every job on a shared node is charged all of it) over the whole "
        "job; lpm's is what it measured of the training steps and samples, the part it "
        "extrapolates. A ratio far above 1 says the job's overhead or its neighbours "
        "dominate the node's energy. A job whose training was killed (a preemption, "
        "<code>scancel</code>) went on from its last checkpoint when Slurm requeued it or "
        "the study ran again; its lpm run time is the last process's, and its step "
        "statistics pool every process's measured steps.</p>"
    )
    return HEADING + intro + table(headers, rows, {3, 4, 5, 6, 7, 8, 9})
