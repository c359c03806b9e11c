"""Slurm-aware measurement: the job read once from the environment, one measurer per node."""

from __future__ import annotations

import os
import random
import stat
import sys
from pathlib import Path

import pytest
from tests.fakes.nvml import FakeClock, FakeGpu, FakeNvml, uuid_of

from lpm.energy import EstimatedCpuMeter, EstimatedDramMeter, SimulatedMeter, Tracker, read_run
from lpm.energy.context import collect_context
from lpm.energy.cpu_model import CpuPowerModel
from lpm.energy.detect import run_meters
from lpm.energy.distributed import job_components
from lpm.energy.slurm import SlurmJob, parse_tasks_per_node
from lpm.errors import LpmError

SLURM_VARS = (
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "SLURM_STEPID",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NODEID",
    "SLURMD_NODENAME",
    "SLURM_NTASKS",
    "SLURM_JOB_ACCOUNT",
    "SLURM_JOB_PARTITION",
    "SLURM_STEP_GPUS",
    "SLURM_JOB_GPUS",
    "SLURM_STEP_TASKS_PER_NODE",
    "SLURM_TASKS_PER_NODE",
    "SLURM_GPUS_ON_NODE",
    "SLURMD_TRES_BIND",
    "CUDA_VISIBLE_DEVICES",
)


def srun_env(
    proc: int, *, nodes: int = 1, per_node: int = 4, job: str = "4242", **extra: str
) -> dict[str, str]:
    """The variables `srun --nodes=N --ntasks-per-node=M` gives task `proc` (block layout)."""
    node = proc // per_node
    env = {
        "SLURM_JOB_ID": job,
        "SLURM_STEP_ID": "0",
        "SLURM_PROCID": str(proc),
        "SLURM_LOCALID": str(proc % per_node),
        "SLURM_NODEID": str(node),
        "SLURMD_NODENAME": f"n{node + 1}",
        "SLURM_NTASKS": str(nodes * per_node),
        "SLURM_JOB_ACCOUNT": "lab",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_STEP_TASKS_PER_NODE": f"{per_node}(x{nodes})",
    }
    env.update(extra)
    return env


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in SLURM_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_from_env_reads_every_field_of_a_task() -> None:
    env = srun_env(6, nodes=2, per_node=4, SLURM_STEP_GPUS="2", CUDA_VISIBLE_DEVICES="0")
    env.update(SLURM_GPUS_ON_NODE="4", SLURMD_TRES_BIND="gpu:per_task:1")
    job = SlurmJob.from_env(env)
    assert job is not None
    assert job.to_dict() == {
        "job_id": "4242",
        "step_id": "0",
        "proc_id": 6,
        "local_id": 2,
        "node_id": 1,
        "node_name": "n2",
        "ntasks": 8,
        "account": "lab",
        "partition": "gpu",
        "gpus": ["0"],  # what CUDA sees, as the GPU meter's scope
    }
    assert job.gpus_from == "CUDA_VISIBLE_DEVICES" and job.gpus_on_node == 4 and job.gpus_bound
    assert job.tasks_on_node == 4 and not job.is_node_leader and job.notes == ()
    assert SlurmJob.from_env({"PATH": "/bin"}) is None
    assert SlurmJob.from_env({"SLURM_JOB_ID": " "}) is None
    batch = SlurmJob.from_env({"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "4294967294"})
    assert batch is not None and batch.step_id == "batch" and batch.is_node_leader


def test_from_env_defaults_to_os_environ(clean_env: pytest.MonkeyPatch) -> None:
    assert SlurmJob.from_env() is None
    clean_env.setenv("SLURM_JOB_ID", "99")
    clean_env.setenv("SLURM_JOB_GPUS", "1,3")
    job = SlurmJob.from_env()
    assert job is not None and job.job_id == "99" and job.gpus == ("1", "3")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SLURM_JOB_ID", "12 34"),
        ("SLURM_PROCID", "-1"),
        ("SLURM_LOCALID", "one"),
        ("SLURM_NODEID", "9" * 40),
        ("SLURMD_NODENAME", "n1; rm -rf /"),
        ("SLURM_NTASKS", "0"),
        ("SLURM_JOB_ACCOUNT", "a\nb"),
        ("SLURM_JOB_PARTITION", "x" * 300),
        ("SLURM_STEP_ID", "0.1"),
        ("SLURM_STEP_TASKS_PER_NODE", "4(x)"),
        ("CUDA_VISIBLE_DEVICES", "0,\x00,1"),
    ],
)
def test_a_malformed_value_is_ignored_and_noted_never_raised(var: str, value: str) -> None:
    job = SlurmJob.from_env(srun_env(1, **{var: value}))
    assert job is not None
    assert any(var in n for n in job.notes), job.notes
    good = SlurmJob.from_env(srun_env(1))
    assert good is not None
    changed = {k for k, v in job.to_dict().items() if v != good.to_dict()[k]}
    assert len(changed) <= 1  # only that field is lost
    if var == "SLURM_LOCALID":  # unknown: this task measures the node (nothing is lost)
        assert job.local_id is None and job.is_node_leader


def test_tasks_per_node_form() -> None:
    assert parse_tasks_per_node("4") == [4]
    assert parse_tasks_per_node("2(x3),1") == [2, 2, 2, 1]
    assert parse_tasks_per_node("2(x)") is None
    assert parse_tasks_per_node("1(x999999999)") is None
    job = SlurmJob.from_env({**srun_env(0), "SLURM_STEP_TASKS_PER_NODE": "2(x3),1"})
    assert job is not None and job.tasks_on_node == 2


def _fake_slurm_commands(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose scontrol, squeue, sacct and sinfo only note that they were called."""
    calls = tmp_path / "calls.log"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for cmd in ("scontrol", "squeue", "sacct", "sinfo", "sstat"):
        script = bindir / cmd
        script.write_text(f'#!/bin/sh\necho "{cmd} $*" >> "{calls}"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", calls


def test_the_tracker_records_the_job_and_never_asks_slurm(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, calls = _fake_slurm_commands(tmp_path)
    clean_env.setenv("PATH", path)
    for k, v in srun_env(0, per_node=1).items():
        clean_env.setenv(k, v)
    with Tracker(interval_s=0.02, log_dir=tmp_path / "runs", checkpoint_s=0.05) as t:
        for _ in range(5):
            t.sample()
            t.step()
    s = read_run(t.summary().path)
    slurm = s.context["slurm"]
    assert slurm["job_id"] == "4242" and slurm["node_name"] == "n1" and slurm["account"] == "lab"
    assert slurm["node_energy"] and slurm["node_leader"]
    assert s.context["slurm_job_id"] == "4242"  # kept for older readers
    assert not calls.exists(), calls.read_text()


def test_outside_slurm_the_context_has_no_slurm_entry(clean_env: pytest.MonkeyPatch) -> None:
    ctx = collect_context([])
    assert "slurm" not in ctx and ctx["slurm_job_id"] is None


def _run_tasks(envs: list[dict[str, str]], mp: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Each env as one task's Tracker on a simulated node (CPU 50 W, DRAM 5 W, its GPU 100 W)."""
    summaries = []
    for i, env in enumerate(envs):
        _task_env(mp, env)
        clock = FakeClock()
        meters = [
            SimulatedMeter("cpu", 50.0, 1, clock=clock),
            SimulatedMeter("dram", 5.0, 1, clock=clock),
            SimulatedMeter("gpu", 100.0, 1, name=f"gpu of task {i}", clock=clock),
        ]
        with Tracker(meters, interval_s=3600, log_dir=tmp_path / f"task{i}", clock=clock) as t:
            clock.advance(10.0)
            t.sample()
        summaries.append(read_run(t.summary().path))
    return summaries


def _energy(summaries: list, kind: str) -> float:
    return sum(c.energy_j for s in summaries for c in s.components if c.kind == kind)


def test_four_tasks_on_one_node_count_the_node_once(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = _run_tasks([srun_env(p, per_node=4) for p in range(4)], clean_env, tmp_path)
    assert _energy(runs, "cpu") == pytest.approx(500.0)  # once, not 4x (CodeCarbon #1390)
    assert _energy(runs, "dram") == pytest.approx(50.0)
    assert _energy(runs, "gpu") == pytest.approx(4 * 1000.0)  # each task's own GPU
    assert [s.context["slurm"]["node_energy"] for s in runs] == [True, False, False, False]
    assert any("first task" in f for f in runs[1].faults)


def test_two_nodes_of_two_tasks_count_each_node_once(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    envs = [srun_env(p, nodes=2, per_node=2) for p in range(4)]
    runs = _run_tasks(envs, clean_env, tmp_path)
    assert _energy(runs, "cpu") == pytest.approx(2 * 500.0)
    holders = [(s.context["slurm"]["node_name"], s.context["slurm"]["proc_id"]) for s in runs]
    leaders = [h for h, s in zip(holders, runs, strict=True) if s.context["slurm"]["node_energy"]]
    assert leaders == [("n1", 0), ("n2", 2)]


def test_one_task_per_node_measures_its_node(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runs = _run_tasks([srun_env(p, nodes=2, per_node=1) for p in range(2)], clean_env, tmp_path)
    assert _energy(runs, "cpu") == pytest.approx(2 * 500.0)


def _nvml_node(mp: pytest.MonkeyPatch, n: int) -> FakeNvml:
    nvml = FakeNvml([FakeGpu(uuid_of(i)) for i in range(n)], FakeClock())
    mp.setitem(sys.modules, "pynvml", nvml)
    return nvml


def _task_env(mp: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for var in SLURM_VARS:
        mp.delenv(var, raising=False)
    for k, v in env.items():
        mp.setenv(k, v)


def _task_meters(mp: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[list, list[str]]:
    """One task's detected meters, with its variables in the environment."""
    _task_env(mp, env)
    return run_meters(None, "process", None)


def _gpu_ids(meters: list) -> list[str]:
    return [d for m in meters if m.kind == "gpu" for d in m.device_ids]


# The variables below are what Slurm 22.05 gave two tasks on the test cluster for
# `srun --ntasks=2 --gpus=2` (shared), `--gpus-per-task=1` (bound) and in a batch script.


def test_tasks_sharing_as_many_gpus_take_one_each(clean_env: pytest.MonkeyPatch) -> None:
    _nvml_node(clean_env, 4)  # srun --ntasks-per-node=4 --gpus=4
    seen = []
    for p in range(4):
        gpus = {"CUDA_VISIBLE_DEVICES": "0,1,2,3", "SLURM_STEP_GPUS": "0,1,2,3"}
        meters, _ = _task_meters(clean_env, srun_env(p, SLURM_GPUS_ON_NODE="4", **gpus))
        seen.append(_gpu_ids(meters))
    assert seen == [[f"gpu-uuid:{uuid_of(p)}"] for p in range(4)]


def test_tasks_sharing_fewer_gpus_leave_them_to_the_first_task(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _nvml_node(clean_env, 8)
    seen = []
    for p in range(4):
        env = srun_env(p, SLURM_STEP_GPUS="4,5", CUDA_VISIBLE_DEVICES="4,5", SLURM_GPUS_ON_NODE="2")
        meters, notices = _task_meters(clean_env, env)
        seen.append(_gpu_ids(meters))
        cpu = next(m for m in meters if m.kind == "cpu")
        assert cpu.idle_share is (p == 0)  # the others: their processes' busy share only
    assert seen == [[f"gpu-uuid:{uuid_of(4)}", f"gpu-uuid:{uuid_of(5)}"], [], [], []]
    assert any("first task" in n for n in notices)


@pytest.mark.parametrize("bind", ["gpu:per_task:2", None])
def test_tasks_bound_to_their_own_gpus_measure_them(
    clean_env: pytest.MonkeyPatch, bind: str | None
) -> None:
    _nvml_node(clean_env, 8)  # --gpus-per-task=2: CUDA_VISIBLE_DEVICES differs per task
    seen = []
    for p in range(4):
        own = f"{2 * p},{2 * p + 1}"
        env = srun_env(p, SLURM_STEP_GPUS=own, CUDA_VISIBLE_DEVICES=own, SLURM_GPUS_ON_NODE="8")
        if bind is not None:
            env["SLURMD_TRES_BIND"] = bind
        meters, _ = _task_meters(clean_env, env)
        seen.extend(_gpu_ids(meters))
    assert seen == [f"gpu-uuid:{uuid_of(i)}" for i in range(8)]  # each once, none missing


def test_a_batch_script_is_one_task_whatever_the_job_asked(clean_env: pytest.MonkeyPatch) -> None:
    _nvml_node(clean_env, 2)  # sbatch --ntasks=2 --gpus-per-task=1, the script itself
    env = {
        "SLURM_JOB_ID": "1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NTASKS": "2",
        "SLURM_TASKS_PER_NODE": "2",
        "SLURM_GPUS_ON_NODE": "2",
        "SLURM_JOB_GPUS": "0,1",
        "CUDA_VISIBLE_DEVICES": "0,1",
    }
    job = SlurmJob.from_env(env)
    assert job is not None and job.step_id is None and job.tasks_on_node == 1
    assert not job.shares_node and job.gpu_select() is None
    meters, _ = _task_meters(clean_env, env)
    assert _gpu_ids(meters) == [f"gpu-uuid:{uuid_of(i)}" for i in range(2)]
    assert sorted(m.kind for m in meters if m.kind != "gpu") == ["cpu", "dram"]


def test_estimates_of_tasks_sharing_a_node_add_up_to_the_node_model_once(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """4 tasks, each keeping 1 of the node's 8 CPUs busy: 10 W x (4 + 0.2 x 4) = 48 W."""
    model = CpuPowerModel("test", 10.0, 1.0, 0.2, None, None, None, "test")
    runs = []
    for p in range(4):
        _task_env(clean_env, srun_env(p, per_node=4))
        clock = FakeClock()
        cpu = EstimatedCpuMeter(
            model=model, clock=clock, cpu_seconds=lambda c=clock: c.now, available_cpus=8
        )
        dram = EstimatedDramMeter(clock=clock, memory_bytes=lambda: 2e9)
        with Tracker([cpu, dram], interval_s=3600, log_dir=tmp_path / f"t{p}", clock=clock) as t:
            clock.advance(10.0)
            t.sample()
        runs.append(read_run(t.summary().path))
    assert _energy(runs, "cpu") == pytest.approx(480.0)  # 240 J + 3 x 80 J, not 4 x 240 J
    assert _energy(runs, "dram") == pytest.approx(4 * 0.3725 * 2.0 * 10.0)  # each its own RSS
    assert [s.context["slurm"]["node_energy"] for s in runs] == [True, False, False, False]
    assert "busy share" in runs[1].components[0].name


def test_a_malformed_variable_is_a_note_in_the_run_not_an_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _task_env(clean_env, srun_env(0, per_node=1, SLURM_LOCALID="one"))
    with Tracker([SimulatedMeter("cpu", 10.0, 1)], interval_s=3600, log_dir=tmp_path) as t:
        t.sample()
    s = read_run(t.summary().path)
    assert "Slurm: SLURM_LOCALID='one' is not a whole number >= 0; ignored" in s.faults
    assert s.context["slurm"]["local_id"] is None and s.context["slurm"]["node_energy"]


def test_a_jobs_task_records_add_up_to_each_node_and_gpu_once(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = _run_tasks([srun_env(p, nodes=2, per_node=2) for p in range(4)], clean_env, tmp_path)
    comps = job_components(runs)
    by_kind = {k: sum(c.energy_j for c in comps if c.kind == k) for k in ("cpu", "dram", "gpu")}
    assert by_kind == pytest.approx({"cpu": 2 * 500.0, "dram": 2 * 50.0, "gpu": 4 * 1000.0})
    names = [c.name for c in comps]
    assert len(names) == len(set(names)) and "gpu:0 (simulated) [task 1 on n1]" in names
    assert any("[task 2 on n2]" in n for n in names)  # node 2's CPU, named by its task
    other = _run_tasks([srun_env(0, job="99", per_node=1)], clean_env, tmp_path / "other")
    with pytest.raises(LpmError, match="several Slurm jobs"):
        job_components([*runs, *other])


def test_job_components_count_a_gpu_and_a_ranks_job_summary_once() -> None:
    from lpm.carbon import footprint
    from lpm.energy.results import ComponentEnergy, RunSummary

    def run(run_id: str, ctx: dict, comps: list[ComponentEnergy]) -> RunSummary:
        fp = footprint(0.0)
        return RunSummary(run_id, 1.0, 0.0, 0.0, 0.0, comps, {}, 0, ctx, fp, True)

    gpu = ComponentEnergy("gpu:0", "gpu", 10.0, 10.0 / 3.6e6, 10.0, device_id="gpu-uuid:GPU-a")
    cpu = ComponentEnergy("cpu", "cpu", 5.0, 5.0 / 3.6e6, 5.0, device_id="cpu")
    ranks = [run("job", {"distributed": {"rank": r}}, [gpu, cpu]) for r in range(2)]
    assert [c.energy_j for c in job_components(ranks)] == [10.0, 5.0]  # one copy
    tasks = [run(f"t{p}", {"slurm": {"job_id": "1", "proc_id": p}}, [gpu]) for p in range(2)]
    assert [c.energy_j for c in job_components(tasks)] == [10.0]  # one GPU both tasks saw


def test_no_value_of_any_variable_raises() -> None:
    rng = random.Random(14)
    alphabet = "0123456789,()x-:/.GPU MIG²٣\x00\n\t" + "abc"
    for _ in range(400):
        env = {v: "".join(rng.choices(alphabet, k=rng.randint(0, 30))) for v in SLURM_VARS}
        env["SLURM_JOB_ID"] = rng.choice(["12", "²", "٣", "1e3", env["SLURM_JOB_ID"]])
        job = SlurmJob.from_env(env)
        if job is not None:
            job.to_dict()
            job.gpu_select()
            assert job.job_id is None or job.job_id.isascii()


def test_a_tracker_reads_the_job_from_the_environment_once(monkeypatch, tmp_path) -> None:
    calls = []
    real = SlurmJob.from_env.__func__

    def counting(cls, environ=None):
        calls.append(1)
        return real(cls, environ)

    monkeypatch.setattr(SlurmJob, "from_env", classmethod(counting))
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_STEP_ID", "0")
    with Tracker([SimulatedMeter(kind="cpu", watts=5.0)], interval_s=0.01, log_dir=tmp_path) as t:
        for _ in range(3):
            t.step()
    assert len(calls) == 1
    assert t.context["slurm"]["job_id"] == "77"
