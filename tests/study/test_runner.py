"""The runner: records appended once per scenario, resume, kill -9, workers, Slurm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.results.factory import make_record
from tests.study.fake_measure import (
    DELAY_ENV,
    FAIL_ENV,
    fake_measure,
    runs_per_job,
    worker_pids,
)

from lpm.errors import LpmError
from lpm.study.executors import LocalExecutor, SlurmExecutor, make_executor
from lpm.study.grid import jobs, scenarios
from lpm.study.runner import run_study
from lpm.study.spec import spec_from_dict
from lpm.study.store import ResultsStore

SPEC = {
    "dims": [2, 3],
    "image_sizes": {"2d": [32, 64], "3d": [16]},
    "model_sizes": ["small", "medium"],
    "processes": [1],
    "steps": [100, 20],
    "base": {"model": "medium"},
    "measure": {"train_iterations": 3, "samples": 1},
}
REPO = Path(__file__).resolve().parents[2]


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]


def test_one_record_per_scenario_and_spec_written(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    outcome = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    expected = {s.scenario_id for s in scenarios(spec)}
    ids = [r["scenario_id"] for r in _lines(tmp_path)]
    assert sorted(ids) == sorted(expected)
    assert set(outcome.measured_ids) == expected and not outcome.failed
    assert ResultsStore(tmp_path).spec() == spec
    assert (tmp_path / "records").is_dir()


def test_rerun_skips_finished_scenarios(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    run_study(spec, tmp_path, measure=fake_measure, progress=False)
    again = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert again.measured_ids == []
    assert len(again.skipped_ids) == len(scenarios(spec))
    assert set(runs_per_job(tmp_path).values()) == {1}
    assert len(_lines(tmp_path)) == len(scenarios(spec))


def test_other_spec_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    run_study(spec_from_dict(SPEC), tmp_path, measure=fake_measure, progress=False)
    other = spec_from_dict({**SPEC, "pue": 1.2})
    with pytest.raises(LpmError, match="different spec"):
        run_study(other, tmp_path, measure=fake_measure, progress=False)


def test_failed_job_is_noted_and_retried(tmp_path: Path, monkeypatch) -> None:
    spec = spec_from_dict(SPEC)
    monkeypatch.setenv(FAIL_ENV, "2d-64-medium-p1-ddim")
    first = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert list(first.failed) == ["2d-64-medium-p1-ddim"]
    assert "simulated failure" in first.failed["2d-64-medium-p1-ddim"]
    failures = (tmp_path / "failures.jsonl").read_text()
    assert "2d-64-medium-p1-ddim-100" in failures
    assert not any(r["scenario_id"].startswith("2d-64-") for r in _lines(tmp_path))
    monkeypatch.delenv(FAIL_ENV)
    second = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert second.measured_ids == ["2d-64-medium-p1-ddim-100"]
    assert len(_lines(tmp_path)) == len(scenarios(spec))


def test_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    store = ResultsStore(tmp_path)
    store.init(spec)
    a = make_record("2d-32-small-p1-ddim-20", steps=20)
    c = make_record("2d-64-small-p1-ddim-20", size=(64, 64), steps=20)
    store.append([a])
    with open(store.results_path, "a") as fh:
        fh.write('{"scenario_id": "b", "sta')  # a write cut by kill -9
    assert store.records() == [a]
    assert store.append([c, a]) == [c.scenario_id]
    assert [json.loads(x)["scenario_id"] for x in store.results_path.read_text().splitlines()] == [
        a.scenario_id,
        c.scenario_id,
    ]
    assert store.records() == [a, c]


def test_a_directory_of_version_1_records_is_refused_in_one_line(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    ResultsStore(tmp_path).init(spec)
    old = {"scenario_id": "2d-32-medium-p1-ddim-100", "status": "ok", "estimated": True}
    (tmp_path / "results.jsonl").write_text(json.dumps(old) + "\n")
    with pytest.raises(LpmError, match="version-1 study record") as info:
        run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert "\n" not in str(info.value) and "new --out folder" in str(info.value)
    assert runs_per_job(tmp_path) == {}


def test_worker_records_left_behind_are_merged_once(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    run_study(spec, tmp_path, measure=fake_measure, progress=False)
    # The parent died after a worker wrote its record file but before appending it.
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    (tmp_path / "results.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    again = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert again.measured_ids == []
    ids = [r["scenario_id"] for r in _lines(tmp_path)]
    assert len(ids) == len(set(ids)) == len(scenarios(spec))


KILL_SCRIPT = """
import sys
from lpm.study.runner import run_study
from lpm.study.spec import spec_from_dict
from tests.study.fake_measure import fake_measure
import json
run_study(spec_from_dict(json.loads(sys.argv[2])), sys.argv[1], measure=fake_measure,
          progress=False)
"""


def test_resume_after_kill_9_loses_at_most_the_job_in_flight(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    env = {**os.environ, DELAY_ENV: "0.4", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path), json.dumps(SPEC)], env=env
    )
    results = tmp_path / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and len(results.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {r["scenario_id"] for r in _lines(tmp_path)}
    assert 2 <= len(before) < len(scenarios(spec))

    again = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    ids = [r["scenario_id"] for r in _lines(tmp_path)]
    assert sorted(ids) == sorted(s.scenario_id for s in scenarios(spec))  # all, once each
    assert before.isdisjoint(again.measured_ids)
    runs = runs_per_job(tmp_path)
    assert sum(n - 1 for n in runs.values()) <= 1  # at most the job in flight ran twice


def test_local_workers_write_every_record_once(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC)
    outcome = run_study(
        spec, tmp_path, measure=fake_measure, executor=LocalExecutor(2), progress=False
    )
    records = _lines(tmp_path)
    assert sorted(r["scenario_id"] for r in records) == sorted(
        s.scenario_id for s in scenarios(spec)
    )
    pids = worker_pids(tmp_path)
    assert len(pids) >= 1 and os.getpid() not in pids
    assert not outcome.failed


def test_slurm_executor_through_submitit_local(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the jobs import the fake measure
    spec = spec_from_dict({**SPEC, "dims": [3]})
    ex = SlurmExecutor(tmp_path / "slurm", cluster="local", poll_s=0.1)
    outcome = run_study(spec, tmp_path / "out", measure=fake_measure, executor=ex, progress=False)
    assert sorted(outcome.measured_ids) == sorted(s.scenario_id for s in scenarios(spec))
    assert not outcome.failed


def test_slurm_without_sbatch_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    ex = make_executor("slurm", folder=tmp_path / "slurm")
    with pytest.raises(LpmError, match="Slurm was not found"):
        run_study(
            spec_from_dict(SPEC),
            tmp_path / "out",
            measure=fake_measure,
            executor=ex,
            progress=False,
        )


def test_bad_executor_arguments() -> None:
    with pytest.raises(LpmError, match="workers"):
        make_executor("local", workers=0)
    with pytest.raises(LpmError, match="unknown executor"):
        make_executor("cloud")


def test_slurm_jobs_ask_for_one_gpu_per_training_process(tmp_path: Path, monkeypatch) -> None:
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    ex = SlurmExecutor(tmp_path / "slurm", parameters={"slurm_partition": "gpu"})
    job = next(j for j in jobs(spec_from_dict({**SPEC, "processes": [1, 4]})) if j.processes == 4)
    params = ex._executor(job)._executor.parameters
    assert params["gpus_per_node"] == 4
    assert params["partition"] == "gpu"
    assert params["job_name"] == f"lpm-{job.job_id}"


def test_a_job_started_again_after_it_finished_is_not_measured_twice(tmp_path: Path) -> None:
    """A Slurm job requeued after it measured finds its records and returns them."""
    from lpm.results import record_to_json
    from lpm.study.runner import run_job

    spec = spec_from_dict(SPEC)
    job = next(j for j in jobs(spec) if len(j.scenario_ids) > 1)
    ResultsStore(tmp_path).init(spec)
    first = run_job(job, spec=spec, out_dir=str(tmp_path), measure=fake_measure)
    again = run_job(job, spec=spec, out_dir=str(tmp_path), measure=fake_measure)
    assert [record_to_json(r) for r in again] == [record_to_json(r) for r in first]
    assert runs_per_job(tmp_path) == {job.job_id: 1}
    (tmp_path / "records" / f"{job.scenario_ids[-1]}.json").write_text("{torn")
    run_job(job, spec=spec, out_dir=str(tmp_path), measure=fake_measure)
    assert runs_per_job(tmp_path) == {job.job_id: 2}  # one record unreadable: measured again
