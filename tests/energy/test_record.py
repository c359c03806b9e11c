"""Run records: lines, reading back finished and interrupted runs, kill -9, CSV export."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.fakes.nvml import FakeClock

from lpm.energy import CODECARBON_COLUMNS, SimulatedMeter, Tracker, export_codecarbon_csv, read_run
from lpm.errors import LpmError


def finished_run(tmp_path: Path) -> Path:
    clock = FakeClock()
    meters = [
        SimulatedMeter("gpu", 250.0, 2, clock=clock),
        SimulatedMeter("cpu", 40.0, 1, clock=clock),
    ]
    with Tracker(meters, interval_s=3600, log_dir=tmp_path, run_name="fin", clock=clock) as t:
        for _ in range(3):
            with t.window("train"):
                clock.advance(2.0)
                t.step()
    assert t.record_path is not None
    return t.record_path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_record_has_header_windows_and_summary(tmp_path) -> None:
    path = finished_run(tmp_path)
    kinds = [x["type"] for x in lines(path)]
    assert kinds == ["header", "window", "window", "window", "summary"]
    header = lines(path)[0]
    ctx = header["context"]
    for key in ("cpu_model", "cpu_count_logical", "host", "torch_version", "lpm_version"):
        assert key in ctx
    assert "slurm_job_id" in ctx and "gpu_names" in ctx and "gpu_driver" in ctx
    assert [d["kind"] for d in header["devices"]] == ["gpu", "gpu", "cpu"]


def test_read_run_of_a_finished_run(tmp_path) -> None:
    path = finished_run(tmp_path)
    s = read_run(path)
    assert s.complete
    assert s.it_energy_j == pytest.approx(6.0 * 540.0)
    assert s.windows["train"]["count"] == 3
    assert s.co2e_kg == pytest.approx(s.footprint.co2e_kg) and s.co2e_kg > 0
    assert read_run(tmp_path).run_id == s.run_id  # a folder: its latest record


def test_read_run_rebuilds_an_interrupted_run(tmp_path) -> None:
    path = finished_run(tmp_path)
    kept = path.read_text().splitlines()[:3]  # header + 2 windows, summary lost
    path.write_text("\n".join(kept) + '\n{"type": "window", "na')  # a torn last line
    s = read_run(path)
    assert not s.complete
    assert s.windows["train"]["count"] == 2
    assert s.windows["train"]["energy_j"] == pytest.approx(2 * 2.0 * 540.0)
    assert s.it_energy_j == pytest.approx(4.0 * 540.0)
    assert s.duration_s == pytest.approx(4.0)
    assert any("unreadable" in f for f in s.faults)


def test_read_run_user_errors(tmp_path) -> None:
    with pytest.raises(LpmError, match="does not exist"):
        read_run(tmp_path / "nope.jsonl")
    with pytest.raises(LpmError, match=r"no run record"):
        read_run(tmp_path)
    bad = tmp_path / "other.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(LpmError, match="not an lpm run record"):
        read_run(bad)


CHILD = """
import sys, time
from lpm.energy import SimulatedMeter, Tracker
meters = [SimulatedMeter("gpu", 200.0, 2), SimulatedMeter("cpu", 20.0, 1)]
with Tracker(meters, interval_s=0.02, log_dir=sys.argv[1], run_name="killed",
             checkpoint_s=0.05) as t:
    while True:
        with t.window("train"):
            for _ in range(3):
                time.sleep(0.01)
                t.step()
"""


def test_kill_9_keeps_every_completed_window(tmp_path, capsys) -> None:
    from lpm.cli.main import main

    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            files = list(tmp_path.glob("*.jsonl"))
            if files and files[0].read_text().count('"type":"window"') >= 4:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the tracked child wrote no windows")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (path,) = tmp_path.glob("*.jsonl")
    written = [x for x in lines_tolerant(path) if x["type"] == "window"]
    assert not any(x["type"] == "summary" for x in lines_tolerant(path))

    capsys.readouterr()
    try:
        main(["runs", "show", str(path), "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    shown = json.loads(capsys.readouterr().out)
    assert shown["complete"] is False
    assert shown["windows"]["train"]["count"] == len(written)
    s = read_run(path)
    assert not s.complete
    assert s.windows["train"]["count"] == len(written) >= 4
    assert s.windows["train"]["steps"] == 3 * len(written)
    assert s.windows["train"]["energy_j"] == pytest.approx(
        sum(sum(x["energy_j"].values()) for x in written)
    )
    # totals come from the last line; each simulated device drew its watts all along
    assert s.it_energy_j == pytest.approx(420.0 * s.duration_s, rel=0.05)
    assert s.it_energy_j >= s.windows["train"]["energy_j"]


def lines_tolerant(path: Path) -> list[dict]:
    out = []
    for raw in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # the line torn by the kill
            out.append(json.loads(raw))
    return out


def test_codecarbon_csv_export(tmp_path) -> None:
    path = finished_run(tmp_path)
    out = tmp_path / "emissions.csv"
    export_codecarbon_csv(path, out)
    export_codecarbon_csv(read_run(path), out, project_name="second")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
        fh.seek(0)
        header = next(csv.reader(fh))
    assert tuple(header) == CODECARBON_COLUMNS
    assert len(rows) == 2 and rows[1]["project_name"] == "second"
    row = rows[0]
    assert float(row["duration"]) == pytest.approx(6.0)
    assert float(row["gpu_energy"]) == pytest.approx(6.0 * 500.0 / 3.6e6)
    assert float(row["cpu_energy"]) == pytest.approx(6.0 * 40.0 / 3.6e6)
    assert float(row["ram_energy"]) == 0.0
    assert float(row["energy_consumed"]) == pytest.approx(6.0 * 540.0 / 3.6e6)
    assert float(row["gpu_power"]) == pytest.approx(500.0)
    assert float(row["pue"]) == 1.55
    assert float(row["emissions"]) == pytest.approx(read_run(path).co2e_kg)
    assert row["gpu_count"] == "2"
    assert row["tracking_mode"] == "process"


def test_csv_export_refuses_a_foreign_file(tmp_path) -> None:
    path = finished_run(tmp_path)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(LpmError, match="other columns"):
        export_codecarbon_csv(path, other)
