"""Slurm's accounting read from sacct's output and shown in the report (no cluster)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.results.factory import make_record

from lpm.errors import LpmError
from lpm.report.slurm_section import lpm_energy_j, slurm_section
from lpm.study.slurm import note_submission
from lpm.study.slurm_acct import FIELDS, collect, duration_s, parse_sacct, read_sacct

SACCT = """\
41|lpm-2d-32-small-p1-ddim|COMPLETED|125|01:02.500|250|||acct|gpu|n1
41.batch|batch|COMPLETED|125|01:02.400|250|31250||acct||n1
41.0|python3|COMPLETED|124|01:02.100|248|31000||acct||n1
42|lpm-2d-32-small-p2-ddim|CANCELLED by 0|7|00:01.000|14|0||acct|gpu|n1
42.batch|batch|CANCELLED|7|00:01.000|14|0||acct||n1
43|lpm-x|COMPLETED|3661|1-00:00:01|3661|18446744073709551614||acct|gpu|n1
"""


def test_sacct_output_becomes_one_job_each() -> None:
    a, b, c = parse_sacct(SACCT)
    assert (a.job_id, a.state, a.elapsed_s, a.cpu_time_s) == ("41", "COMPLETED", 125, 62.5)
    assert a.consumed_energy_j == 31250  # the batch step's, its step 0 not added again
    assert a.alloc_cpu_s == 250 and a.partition == "gpu" and a.account == "acct"
    assert (b.state, b.consumed_energy_j) == ("CANCELLED", None)  # 0: no energy plugin
    assert c.cpu_time_s == 86401 and c.consumed_energy_j is None  # NO_VAL: no reading


@pytest.mark.parametrize(
    ("text", "seconds"), [("00:01.500", 1.5), ("01:02:03", 3723), ("2-00:00:00", 172800)]
)
def test_sacct_durations(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


def test_one_sacct_call_for_all_jobs_and_the_file(tmp_path: Path) -> None:
    calls = []

    def runner(argv, **kw):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, SACCT, "")

    note_submission(tmp_path / "slurm", "41", "2d-32-small-p1-ddim", ["a-20", "a-10"])
    note_submission(tmp_path / "slurm", "42", "2d-32-small-p2-ddim", ["b-20"])
    jobs = collect(tmp_path, runner=runner, settle_s=0)
    assert calls == [["sacct", "--parsable2", "--noheader", "-j", "41,42", "-o", FIELDS]]
    assert [j.job for j in jobs] == ["2d-32-small-p1-ddim", "2d-32-small-p2-ddim"]
    lines = [json.loads(x) for x in (tmp_path / "slurm_acct.jsonl").read_text().splitlines()]
    assert lines[0]["scenario_ids"] == ["a-20", "a-10"] and lines[0]["consumed_energy_j"] == 31250

    def failing(argv, **kw):
        return subprocess.CompletedProcess(argv, 1, "", "sacct: error: accounting disabled")

    with pytest.raises(LpmError, match="sacct failed: sacct: error: accounting disabled"):
        read_sacct(["1"], runner=failing)
    assert collect(tmp_path, runner=failing) is None  # a warning; the study stands
    assert collect(tmp_path / "elsewhere", runner=runner) is None  # never on Slurm


def test_the_report_section_puts_slurm_beside_lpm(tmp_path: Path) -> None:
    recs = [
        make_record(f"a-{steps}", steps=steps, iteration_j=2.0, step_j=0.5, fixed_j=1.0)
        for steps in (20, 10)
    ]
    assert slurm_section(tmp_path, recs) == ""  # not on Slurm: no section
    line = {"job_id": "41", "job": "a", "state": "COMPLETED", "elapsed_s": 125,
            "cpu_time_s": 62.5, "alloc_cpu_s": 250, "consumed_energy_j": 31250.0,
            "scenario_ids": ["a-20", "a-10"]}  # fmt: skip
    (tmp_path / "slurm_acct.jsonl").write_text(json.dumps(line) + "\n")
    html = slurm_section(tmp_path, recs)
    assert "<h2 id='slurm'>" in html and "1 Slurm jobs ran" in html
    lpm_j = lpm_energy_j(recs)
    train = recs[0].train.step_stats
    samples = sum(r.sample.samples * r.sample.energy_per_sample_j_mean for r in recs)
    assert lpm_j == pytest.approx(train.energy_j_mean * train.count + samples)  # train once
    assert '<td class="num">31,250</td>' in html and f"{31250 / lpm_j:,.2f}</td>" in html
    assert "killed and resumed" not in html

    resumed = [r.model_copy(update={"train": r.train.model_copy(update={"resumed_at": [4000]})})
               for r in recs]  # fmt: skip
    html = slurm_section(tmp_path, resumed)
    assert "training killed and resumed from its checkpoint at iteration 4,000" in html
