"""``lpm study --executor slurm`` on the real test cluster: scenarios as Slurm jobs.

The measurement is the fast fake of tests/study (the jobs import it by PYTHONPATH); the
jobs, their sbatch options, cancels and requeues are Slurm's own.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from tests.cli_run import one_line_error, run_cli
from tests.slurm.cluster import ACCOUNT, SlurmCluster
from tests.slurm.fake_slurm_measure import FIRST_DELAY_ENV, measure_slow_first
from tests.study.fake_measure import DELAY_ENV, fake_measure, runs_per_job

from lpm.study.executors import SlurmExecutor
from lpm.study.grid import jobs, scenarios
from lpm.study.runner import run_study
from lpm.study.slurm import SlurmOptions, submissions
from lpm.study.spec import spec_from_dict

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "name": "tiny-slurm",
    "design": "full",
    "dims": [2],
    "image_sizes": {"2d": [16, 32]},
    "model_sizes": ["small"],
    "processes": [1, 2],
    "steps": [20, 10],
    "measure": {"train_iterations": 2, "samples": 1, "autoencoder_iterations": 1},
}


@pytest.fixture
def fake_jobs(slurm_env: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> SlurmCluster:
    """The cluster, with lpm study's measurement replaced by the fake in every job."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # sbatch passes the environment on
    monkeypatch.chdir(REPO)
    monkeypatch.setattr("lpm.study.runner._default_measure", lambda: fake_measure)
    return slurm_env


def _sacct(cluster: SlurmCluster, ids: list[str], fields: str) -> dict[str, dict[str, str]]:
    """sacct's allocation lines of IDS, once accounting has every one of them finished."""
    names = fields.split(",")
    deadline = time.monotonic() + 30
    while True:
        out = cluster.run(["sacct", "-n", "-X", "-P", "-j", ",".join(ids), "-o", fields]).stdout
        rows = {
            r["JobID"]: r
            for r in (dict(zip(names, x.split("|"), strict=True)) for x in out.split("\n") if x)
        }
        done = all(rows.get(i, {}).get("State") not in (None, "RUNNING", "PENDING") for i in ids)
        if done or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def test_a_study_runs_as_slurm_jobs_with_the_options_asked(
    fake_jobs: SlurmCluster, tmp_path: Path, capsys
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "slurm": {"time": "0:03:00", "options": {"mem": 300}}}))
    out = tmp_path / "study"
    argv = [
        "study", str(spec), "--out", str(out), "--executor", "slurm",
        "--slurm-partition", fake_jobs.partition, "--slurm-account", ACCOUNT,
        "--slurm-time", "0:05:00", "--slurm-gpus-per-task", "1",
        "--slurm-option", "mem=200M nice=7",
        "--no-quality", "--no-tradeoff",
    ]  # fmt: skip
    code, _, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    expected = sorted(s.scenario_id for s in scenarios(spec_from_dict(TINY)))
    assert len(expected) == 8 and sorted(r["scenario_id"] for r in lines) == expected
    assert set(runs_per_job(out).values()) == {1}
    subs = submissions(out / "slurm")
    assert sorted(s["job"] for s in subs) == sorted(j.job_id for j in jobs(spec_from_dict(TINY)))
    ids = [s["slurm_job_id"] for s in subs]
    rows = _sacct(
        fake_jobs, ids, "JobID,JobName,State,Account,Partition,TimelimitRaw,ReqMem,AllocTRES"
    )
    for sub in subs:
        row = rows[sub["slurm_job_id"]]
        assert row["JobName"] == f"lpm-{sub['job']}"
        assert (row["State"], row["Account"], row["Partition"]) == ("COMPLETED", ACCOUNT, "debug")
        assert row["TimelimitRaw"] == "5" and row["ReqMem"] == "200M"  # the flags won
        gpus = 2 if "-p2-" in sub["job"] else 1  # one GPU per training process
        assert f"gres/gpu={gpus}" in row["AllocTRES"]
    show = fake_jobs.run(["scontrol", "show", "job", ids[0]]).stdout
    assert "Nice=7" in show

    # Slurm's accounting, read once after the study, beside lpm's in the report
    acct = [json.loads(x) for x in (out / "slurm_acct.jsonl").read_text().splitlines()]
    assert sorted(a["job_id"] for a in acct) == sorted(ids)
    for a in acct:
        assert a["state"] == "COMPLETED" and a["elapsed_s"] >= 0 and a["cpu_time_s"] > 0, a
        assert a["scenario_ids"] == next(s["scenario_ids"] for s in subs if s["job"] == a["job"])
        if fake_jobs.energy_w is not None:  # the fake counter: a known power; sacct's
            # elapsed is whole seconds and the plugin's readings up to 1 s old at each end
            assert a["consumed_energy_j"] == pytest.approx(
                fake_jobs.energy_w * a["elapsed_s"], abs=3.5 * fake_jobs.energy_w
            ), a
    html = (out / "report.html").read_text()
    section = html[html.index("<h2 id='slurm'>") :]
    section = section[: section.index("<h2", 5)]
    assert all(f"<td>{i}</td>" in section for i in ids)
    assert "8 Slurm jobs" not in section and "4 Slurm jobs ran" in section


def _act_on_first_job(out: Path, cluster: SlurmCluster, action) -> threading.Thread:
    """In a thread: once the first submitted job is measuring, do ACTION(job_id) to it."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            subs = submissions(out / "slurm")
            if subs and (out / "work" / subs[0]["job"] / "runs").exists():
                assert cluster.state(subs[0]["slurm_job_id"]) == "RUNNING"
                action(subs[0]["slurm_job_id"])
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _executor(tmp_path: Path) -> SlurmExecutor:
    opts = SlurmOptions(time_min=5, gpus_per_task=0, account=ACCOUNT)
    return SlurmExecutor(tmp_path / "study" / "slurm", options=opts, poll_s=0.5)


def test_a_cancelled_job_fails_alone_and_the_rerun_measures_only_it(
    fake_jobs: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_from_dict({**TINY, "processes": [1]})  # 4 scenarios in 2 jobs
    out = tmp_path / "study"
    monkeypatch.setenv(DELAY_ENV, "5")  # > KillWait: submitit ignores SIGTERM, SIGKILL ends it
    watcher = _act_on_first_job(out, fake_jobs, lambda j: fake_jobs.run(["scancel", j]))
    first = run_study(spec, out, executor=_executor(tmp_path), progress=False)
    watcher.join()
    cancelled = submissions(out / "slurm")[0]
    assert list(first.failed) == [cancelled["job"]]
    assert "CANCELLED" in first.failed[cancelled["job"]]
    assert sorted(first.measured_ids + cancelled["scenario_ids"]) == sorted(
        s.scenario_id for s in scenarios(spec)
    )
    monkeypatch.setenv(DELAY_ENV, "0")
    again = run_study(spec, out, executor=_executor(tmp_path), progress=False)
    assert not again.failed
    assert sorted(again.measured_ids) == sorted(cancelled["scenario_ids"])
    ids = [json.loads(x)["scenario_id"] for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(s.scenario_id for s in scenarios(spec))  # no duplicates
    assert len(submissions(out / "slurm")) == 3  # 2, then the cancelled one again


def test_a_requeued_job_runs_again_and_is_counted_once(
    fake_jobs: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_from_dict({**TINY, "processes": [1], "image_sizes": {"2d": [16]}})
    out = tmp_path / "study"
    monkeypatch.setenv(FIRST_DELAY_ENV, "20")  # killed in the first start, not the second

    def requeue(job_id: str) -> None:  # as a preemption would, then let it start at once
        fake_jobs.run(["scontrol", "requeue", job_id])
        deadline = time.monotonic() + 20
        while fake_jobs.state(job_id) != "PENDING" and time.monotonic() < deadline:
            time.sleep(0.05)  # requeued jobs wait for a BeginTime 2 min on
        fake_jobs.run(["scontrol", "update", f"jobid={job_id}", "StartTime=now"])

    watcher = _act_on_first_job(out, fake_jobs, requeue)
    t0 = time.monotonic()
    outcome = run_study(
        spec, out, executor=_executor(tmp_path), measure=measure_slow_first, progress=False
    )
    watcher.join()
    assert time.monotonic() - t0 < 20
    assert not outcome.failed
    (job,) = jobs(spec)
    assert runs_per_job(out) == {job.job_id: 2}  # started twice by Slurm
    ids = [json.loads(x)["scenario_id"] for x in (out / "results.jsonl").read_text().splitlines()]
    assert Counter(ids) == Counter(job.scenario_ids)  # recorded once


def test_a_controller_that_does_not_answer_is_one_line(
    slurm_cluster: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    conf = tmp_path / "slurm.conf"
    text = slurm_cluster.conf.read_text()
    dead = [f"SlurmctldPort={_closed_port()}" if x.startswith("SlurmctldPort=") else x
            for x in text.splitlines() if not x.startswith("Accounting")]  # fmt: skip
    conf.write_text("\n".join(dead) + "\n")
    monkeypatch.setenv("SLURM_CONF", str(conf))
    t0 = time.monotonic()
    line = one_line_error(
        ["study", "--preset", "quick", "--out", str(tmp_path / "s"), "--executor", "slurm"], capsys
    )
    assert "the Slurm controller does not answer" in line and "is DOWN" in line
    assert time.monotonic() - t0 < 20
    assert not (tmp_path / "s" / "slurm" / "jobs.jsonl").exists()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_options_the_cluster_refuses_are_one_line(
    fake_jobs: SlurmCluster, tmp_path: Path, capsys
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "processes": [1]}))
    out = tmp_path / "study"
    base = ["study", str(spec), "--out", str(out), "--executor", "slurm", "--no-report"]
    line = one_line_error([*base, "--slurm-partition", "nosuch"], capsys)
    assert line.startswith("error: sbatch refused the job of 2d-")
    assert "invalid partition" in line.lower()
    line = one_line_error([*base, "--slurm-gpus-per-task", "3"], capsys)  # 2 GPUs a node
    assert "sbatch refused" in line and "not available" in line
    assert not (out / "slurm" / "jobs.jsonl").exists()


@pytest.mark.slow
def test_a_real_measurement_runs_as_a_slurm_job(
    slurm_env: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """lpm's own measurement (lpm.ldm trains and samples) inside a Slurm job: its records
    come back, its energy records name the job, and sacct has the job's energy."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    real = {
        **TINY, "design": "one_factor", "image_sizes": {"2d": [16]}, "processes": [1],
        "measure": {"train_iterations": 2, "warmup_iterations": 1, "samples": 1,
                    "interval_s": 0.05, "autoencoder_iterations": 1},
        "batch_size": 1, "threads": 1,
    }  # fmt: skip
    spec = tmp_path / "real.yaml"
    spec.write_text(yaml.safe_dump(real))
    out = tmp_path / "study"
    argv = ["study", str(spec), "--out", str(out), "--executor", "slurm", "--no-report",
            "--slurm-gpus-per-task", "0", "--slurm-account", ACCOUNT]  # fmt: skip
    code, _, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    (sub,) = submissions(out / "slurm")
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["scenario_id"] for r in lines) == sorted(sub["scenario_ids"])
    assert all(r["status"] == "ok" and r["train"]["step_stats"]["count"] == 2 for r in lines)
    headers = [
        json.loads(p.read_text().splitlines()[0])
        for p in (out / "work" / sub["job"]).rglob("*.jsonl")
        if p.read_text().startswith('{"type":"header"')
    ]
    assert headers and all(h["context"]["slurm"]["job_id"] == sub["slurm_job_id"] for h in headers)
    (acct,) = [json.loads(x) for x in (out / "slurm_acct.jsonl").read_text().splitlines()]
    assert acct["job_id"] == sub["slurm_job_id"] and acct["state"] == "COMPLETED"
    assert acct["cpu_time_s"] > 1 and acct["account"] == ACCOUNT
    if slurm_env.energy_w is not None:
        assert acct["consumed_energy_j"] == pytest.approx(
            slurm_env.energy_w * acct["elapsed_s"], abs=3.5 * slurm_env.energy_w
        ), acct
