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

from lpm.energy import (
    CODECARBON_COLUMNS,
    EXPORT_COLUMNS,
    SimulatedMeter,
    Tracker,
    export_codecarbon_csv,
    read_run,
    read_windows,
)
from lpm.errors import LpmError
from lpm.provenance import Provenance


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
    assert (
        tuple(header) == EXPORT_COLUMNS
        and tuple(header[: len(CODECARBON_COLUMNS)]) == CODECARBON_COLUMNS
    )
    assert rows[0]["provenance"] == "simulated" and rows[0]["provenance_parts"] == "all simulated"
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


def test_csv_export_refuses_a_file_without_the_provenance_column(tmp_path) -> None:
    path = finished_run(tmp_path)
    old = tmp_path / "old.csv"
    old.write_text(",".join(CODECARBON_COLUMNS) + "\n")
    with pytest.raises(LpmError, match="no provenance column"):
        export_codecarbon_csv(path, old)


def test_csv_export_after_a_last_line_without_newline_keeps_rows_apart(tmp_path) -> None:
    # issue 13: the new row used to be glued onto the unterminated last line
    path = finished_run(tmp_path)
    out = tmp_path / "emissions.csv"
    export_codecarbon_csv(path, out)
    out.write_bytes(out.read_bytes().rstrip(b"\r\n"))
    export_codecarbon_csv(path, out, project_name="second")
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert [len(r) for r in rows] == [len(EXPORT_COLUMNS)] * 3
    assert rows[2][rows[0].index("project_name")] == "second"


def test_concurrent_csv_exports_write_the_header_once(tmp_path) -> None:
    import threading

    path = finished_run(tmp_path)
    summary = read_run(path)
    out = tmp_path / "new" / "emissions.csv"
    threads = [
        threading.Thread(target=export_codecarbon_csv, args=(summary, out)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows].count(EXPORT_COLUMNS[0]) == 1
    assert len(rows) == 9 and all(len(r) == len(EXPORT_COLUMNS) for r in rows)


def test_csv_export_refuses_a_binary_file(tmp_path) -> None:
    path = finished_run(tmp_path)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(LpmError, match="not a text CSV"):
        export_codecarbon_csv(path, junk)
    assert junk.read_bytes() == b"\xff\xfe\x00binary"


def _rewrite(path: Path, edit) -> None:
    out = []
    for line in lines(path):
        edit(line)
        out.append(json.dumps(line))
    path.write_text("\n".join(out) + "\n")


def test_record_lines_carry_provenance(tmp_path) -> None:
    path = finished_run(tmp_path)
    header, *windows, summary = lines(path)
    assert {d["provenance"] for d in header["devices"]} == {"simulated"}
    assert header["intensity"]["region"] == "EU27" and header["pue"] == 1.55
    for w in windows:
        assert w["provenance"] == "simulated"
        assert set(w["provenance_by_device"].values()) == {"simulated"}
    s = summary["summary"]
    assert s["provenance"] == "simulated" and s["estimated"] is False
    assert s["provenance_by_kind"] == {"gpu": "simulated", "cpu": "simulated"}
    assert {c["provenance"] for c in s["components"]} == {"simulated"}
    assert s["windows"]["train"]["provenance"] == "simulated"
    assert s["step_stats"]["train"]["provenance"] == "simulated"


def test_the_stored_footprint_is_read_not_recomputed(tmp_path) -> None:
    path = finished_run(tmp_path)

    def edit(line: dict) -> None:  # as if the tables had other values when the run ran
        if line["type"] == "summary":
            fp = line["summary"]["footprint"]
            fp.update(carbon_intensity_g_per_kwh=123.0, intensity_source="then", co2e_kg=9.5)

    _rewrite(path, edit)
    s = read_run(path)
    assert s.co2e_kg == 9.5 and s.footprint.co2e_kg == 9.5
    assert s.footprint.intensity.g_per_kwh == 123.0
    assert s.footprint.intensity.source == "then"
    assert not any("CO2e computed" in f for f in s.faults)


def test_a_run_with_other_pue_and_region_keeps_them(tmp_path) -> None:
    clock = FakeClock()
    meters = [SimulatedMeter("gpu", 100.0, 1, clock=clock)]
    with Tracker(meters, interval_s=3600, log_dir=tmp_path, pue=1.2, region="DE", clock=clock) as t:
        clock.advance(10.0)
    s = read_run(t.record_path)
    assert s.footprint.pue == 1.2 and s.footprint.intensity.region == "DE"
    assert s.co2e_kg == pytest.approx(t.summary().co2e_kg)
    # an interrupted run: its header's intensity, not today's tables or lpm's defaults
    kept = [x for x in lines(t.record_path) if x["type"] != "summary"]
    kept[0]["intensity"]["g_per_kwh"] = 1000.0
    t.record_path.write_text("\n".join(json.dumps(x) for x in kept) + "\n")
    cut = read_run(t.record_path)
    assert cut.footprint.pue == 1.2 and cut.footprint.intensity.g_per_kwh == 1000.0
    assert not any("CO2e computed" in f for f in cut.faults)


def test_an_old_record_without_intensity_says_how_co2e_was_computed(tmp_path) -> None:
    path = finished_run(tmp_path)

    def edit(line: dict) -> None:  # a record written before provenance: no stored intensity
        line.pop("intensity", None)
        if line["type"] == "header":
            line.update(pue=1.3, region="FR")
        if line["type"] == "summary":
            line["summary"].pop("footprint")

    _rewrite(path, edit)
    s = read_run(path)
    assert s.footprint.pue == 1.3 and s.footprint.intensity.region == "FR"
    assert any("PUE 1.3 and region FR" in f and "no carbon intensity" in f for f in s.faults)


def test_a_record_without_pue_or_region_says_defaults_were_used(tmp_path) -> None:
    path = finished_run(tmp_path)

    def edit(line: dict) -> None:
        if line["type"] == "header":
            for k in ("pue", "region", "intensity"):
                line.pop(k)
        if line["type"] == "summary":
            line["summary"].pop("footprint")

    _rewrite(path, edit)
    s = read_run(path)
    assert any("names no PUE or region" in f and "defaults" in f for f in s.faults)


def test_old_records_with_only_estimated_flags_still_read(tmp_path) -> None:
    path = finished_run(tmp_path)

    def edit(line: dict) -> None:  # schema 1: "estimated" booleans, no "provenance"
        if line["type"] == "header":
            for i, d in enumerate(line["devices"]):
                d.pop("provenance")
                d["estimated"] = i == 2  # the CPU was estimated, the GPUs measured
        if line["type"] == "window":
            line.pop("provenance")
            line.pop("provenance_by_device")
            line.pop("provenance_by_device", None)
        line.pop("provenance_by_device", None)
        if line["type"] == "summary":
            s = line["summary"]
            for c in s["components"]:
                c.pop("provenance")
                c["estimated"] = c["kind"] == "cpu"
            for w in s["windows"].values():
                w.pop("provenance")
                w["estimated"] = True

    _rewrite(path, edit)
    s = read_run(path)
    assert [c.provenance for c in s.components] == [
        Provenance.MEASURED,
        Provenance.MEASURED,
        Provenance.ESTIMATED,
    ]
    assert s.provenance is Provenance.MIXED
    assert s.windows["train"]["provenance"] == "estimated"
    ws = read_windows(path)
    assert [w["provenance"] for w in ws] == ["mixed"] * 3
    # the same record interrupted: devices' flags from the header
    kept = [x for x in lines(path) if x["type"] != "summary"]
    path.write_text("\n".join(json.dumps(x) for x in kept) + "\n")
    cut = read_run(path)
    assert [c.provenance for c in cut.components] == [
        Provenance.MEASURED,
        Provenance.MEASURED,
        Provenance.ESTIMATED,
    ]
    assert cut.windows["train"]["provenance"] == "mixed"


def test_csv_export_has_the_slurm_job_columns(tmp_path) -> None:
    path = finished_run(tmp_path)
    slurm = {"job_id": "4242", "step_id": "0", "node_name": "gpu017", "account": "proj-ct",
             "proc_id": 3, "gpus": ["0", "1"]}  # fmt: skip

    def edit(line: dict) -> None:  # as the Tracker writes it under Slurm
        if line["type"] == "header":
            line["context"]["slurm"] = slurm
        if line["type"] == "summary":
            line["summary"]["context"]["slurm"] = slurm

    out = tmp_path / "emissions.csv"
    export_codecarbon_csv(path, out, project_name="outside")  # no Slurm: empty cells
    _rewrite(path, edit)
    export_codecarbon_csv(path, out, project_name="slurm")
    with open(out, newline="") as fh:
        header = next(csv.reader(fh))
        fh.seek(0)
        outside, inside = csv.DictReader(fh)
    assert header[-4:] == ["slurm_job_id", "slurm_step_id", "slurm_node", "slurm_account"]
    assert [outside[c] for c in header[-4:]] == ["", "", "", ""]
    assert [inside[c] for c in header[-4:]] == ["4242", "0", "gpu017", "proj-ct"]
    # a killed run (no summary line) takes them from its header
    _rewrite(path, lambda line: None)
    kept = [x for x in lines(path) if x["type"] != "summary"]
    path.write_text("".join(json.dumps(x) + "\n" for x in kept))
    export_codecarbon_csv(path, out, project_name="killed")
    with open(out, newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    assert (last["slurm_job_id"], last["status"]) == ("4242", "interrupted")
