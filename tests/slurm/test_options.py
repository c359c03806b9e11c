"""What each Slurm job asks for: the spec's slurm block, the flags on top (no cluster)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tests.cli_run import one_line_error

from lpm.errors import LpmError
from lpm.study.executors import SlurmExecutor
from lpm.study.grid import jobs
from lpm.study.slurm import SlurmOptions, check_controller, parse_option, slurm_options
from lpm.study.slurm_spec import slurm_minutes
from lpm.study.spec import StudyRun, run_from_flags, spec_from_dict

SPEC = {
    "dims": [2],
    "image_sizes": {"2d": [32]},
    "model_sizes": ["small"],
    "processes": [1, 2],
    "steps": [20],
}


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30", 30), ("90:30", 91), ("1:30:00", 90), ("2-00", 2880), ("1-01:30", 1530),
     ("0-00:00:01", 1)],
)  # fmt: skip
def test_slurm_time_limits_in_minutes(text: str, minutes: int) -> None:
    assert slurm_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "1h", "1:2:3:4", "0", "-5", "1-"])
def test_a_time_slurm_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        slurm_minutes(text)


def test_the_flags_win_over_the_spec_block() -> None:
    spec = spec_from_dict(
        {**SPEC, "slurm": {"partition": "cpu", "account": "a", "time": "2:00:00",
                           "gpus_per_task": 2, "options": {"qos": "low", "cpus_per_task": 4}}}
    )  # fmt: skip
    opts = slurm_options(spec.slurm, StudyRun())
    assert opts == SlurmOptions(
        time_min=120, partition="cpu", account="a", gpus_per_task=2,
        extra={"qos": "low", "cpus-per-task": "4"},
    )  # fmt: skip
    run = run_from_flags(
        {"slurm_partition": "gpu", "slurm_account": "b", "slurm_time": "45",
         "slurm_gpus_per_task": 0}
    )  # fmt: skip
    opts = slurm_options(spec.slurm, run, ["qos=high", "--mem=4G"])
    assert (opts.partition, opts.account, opts.time_min, opts.gpus_per_task) == ("gpu", "b", 45, 0)
    assert opts.extra == {"qos": "high", "cpus-per-task": "4", "mem": "4G"}
    words = run_from_flags({"slurm_option": "qos=high --comment='a b' mem=4G"})
    extra = slurm_options(spec.slurm, words).extra
    assert extra == {"qos": "high", "cpus-per-task": "4", "comment": "a b", "mem": "4G"}
    old_flag = run_from_flags({"slurm_timeout_min": 10})
    assert slurm_options(spec.slurm, old_flag).time_min == 10
    assert slurm_options(spec_from_dict(SPEC).slurm, StudyRun()).time_min == 24 * 60


def test_each_job_asks_for_its_gpus_and_the_options(tmp_path: Path, monkeypatch) -> None:
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    opts = SlurmOptions(time_min=30, partition="gpu", account="p", gpus_per_task=2,
                        extra={"qos": "high"})  # fmt: skip
    ex = SlurmExecutor(tmp_path / "slurm", options=opts)
    by_p = {j.processes: j for j in jobs(spec_from_dict(SPEC))}
    params = ex._executor(by_p[2])._executor.parameters
    assert params["gpus_per_node"] == 4 and params["time"] == 30
    assert (params["partition"], params["account"]) == ("gpu", "p")
    assert params["additional_parameters"] == {"qos": "high"}
    assert params["ntasks_per_node"] == 1 and params["nodes"] == 1
    no_gpus = SlurmExecutor(tmp_path / "slurm", options=SlurmOptions(gpus_per_task=0))
    assert "gpus_per_node" not in no_gpus._executor(by_p[2])._executor.parameters


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--slurm-option", "qos"], "give KEY=VALUE"),
        (["--slurm-option", "comment='a b"], "No closing quotation"),
        (["--slurm-option", "output=x.log"], "--output is set by lpm"),
        (["--slurm-option", "qos!=1"], "is not an sbatch option name"),
        (["--slurm-time", "1h"], "--slurm-time: '1h' is not a Slurm time"),
        (["--slurm-gpus-per-task", "-1"], "--slurm-gpus-per-task"),
    ],
)
def test_bad_slurm_flags_are_one_line(argv: list[str], words: str, tmp_path, capsys) -> None:
    base = ["study", "--preset", "quick", "--out", str(tmp_path / "s"), "--executor", "slurm"]
    assert words in one_line_error([*base, *argv], capsys)
    assert not (tmp_path / "s").exists()  # refused before anything ran


def test_a_bad_slurm_block_names_its_field() -> None:
    with pytest.raises(LpmError, match=r"slurm\.options.*--wrap is set by lpm"):
        spec_from_dict({**SPEC, "slurm": {"options": {"wrap": "x"}}})
    with pytest.raises(LpmError, match=r"slurm\.time"):
        spec_from_dict({**SPEC, "slurm": {"time": "soon"}})
    with pytest.raises(LpmError, match=r"unknown field 'slurm\.gpus'"):
        spec_from_dict({**SPEC, "slurm": {"gpus": 1}})
    assert parse_option("--cpus_per_task=8") == ("cpus-per-task", "8")


def _scontrol(tmp_path: Path, monkeypatch, script: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "scontrol").write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_the_controller_check(tmp_path: Path, monkeypatch) -> None:
    sleep = shutil.which("sleep")
    _scontrol(tmp_path, monkeypatch, "echo 'Slurmctld(primary) at head is UP'")
    check_controller()
    both = "echo 'Slurmctld(primary) at a is UP'; echo 'Slurmctld(backup) at b is DOWN'; exit 1"
    _scontrol(tmp_path, monkeypatch, both)
    check_controller()  # the backup down: jobs can still be submitted
    _scontrol(tmp_path, monkeypatch, "echo 'Slurmctld(primary) at head is DOWN'; exit 1")
    with pytest.raises(LpmError, match=r"does not answer \(scontrol ping: .* is DOWN\)"):
        check_controller()
    _scontrol(tmp_path, monkeypatch, f"exec {sleep} 30")
    with pytest.raises(LpmError, match=r"no answer in 0\.5 s"):
        check_controller(timeout_s=0.5)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(LpmError, match="no scontrol on PATH"):
        check_controller()
