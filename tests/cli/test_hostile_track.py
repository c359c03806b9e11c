"""Issue 13: `lpm track` options that used to hang, overflow or write outside --log-dir."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli_run import one_line_error
from tests.cli_run import run_cli as run

PY = [sys.executable, "-c", "pass"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--interval", "inf"], "interval_s must be"),
        (["--interval", "1e300"], "interval_s must be"),
        (["--checkpoint", "nan"], "checkpoint_s must be"),
        (["--simulate-gpus", "100000000", "--simulate-gpu-watts", "300"], "simulate_gpus"),
        (["--simulate-cpu-watts", "nan"], "simulate_cpu_watts"),
        (["--simulate-cpu-watts", "inf"], "simulate_cpu_watts"),
        (["--run-name", "../../etc/evil"], "run name"),
        (["--run-name", "a/b"], "run name"),
        (["--run-name", "x" * 300], "run name"),
    ],
)
def test_bad_track_options_are_one_line_and_write_nothing(tmp_path, capsys, option, message):
    logs = tmp_path / "logs"
    line = one_line_error(["track", "--log-dir", str(logs), *option, "--", *PY], capsys)
    assert message in line
    assert not logs.exists() or not any(logs.iterdir())
    assert not (tmp_path / "etc").exists()


def test_a_plain_run_name_is_kept(tmp_path, capsys):
    code, out, err = run(
        ["track", "--log-dir", str(tmp_path), "--run-name", "exp-1.a_b",
         "--simulate-cpu-watts", "10", "--json", "--", *PY],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["run_id"].startswith("exp-1.a_b-")
    assert [p.name.startswith("exp-1.a_b-") for p in tmp_path.iterdir()] == [True]


def test_json_stays_json_when_a_warning_is_logged(tmp_path):
    # an unsorted CSV makes lpm.plan log a warning while --json prints the plan; run as a
    # user does, so the CLI's own log handler is the one that writes
    path = tmp_path / "series.csv"
    path.write_text("timestamp,g\n2026-12-02T02:00,300\n2026-12-02T00:00,100\n")
    argv = ["plan", "--kwh", "1", "--hours", "1", "--intensity-csv", str(path),
            "--earliest", "2026-12-02T00:00Z", "--within", "2h", "--json"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from lpm.cli.main import main; main(sys.argv[1:])",
         *argv],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sorted" in done.stderr  # the warning went to stderr
    json.loads(done.stdout)  # and stdout holds nothing but the plan


def test_runs_show_on_a_run_folder_finds_the_record_not_losses_jsonl(tmp_path, capsys):
    # issue 13: the newest *.jsonl of any kind (losses.jsonl) used to be picked and fail
    code, _, err = run(
        ["track", "--log-dir", str(tmp_path), "--simulate-cpu-watts", "10", "--", *PY], capsys
    )
    assert code == 0, err
    (tmp_path / "losses.jsonl").write_text('{"iteration": 1, "loss": 0.5}\n')
    (tmp_path / "results.jsonl").write_text('{"schema_version": 2}\n')
    code, out, err = run(["runs", "show", str(tmp_path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["run_id"].startswith("run-")
