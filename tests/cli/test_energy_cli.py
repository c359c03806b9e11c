"""`lpm track`, `lpm runs show|export`, `lpm hardware`."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.cli_run import run_cli as run

PY = sys.executable


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0]
    assert "Traceback" not in err


SIM = ["--simulate-cpu-watts", "10", "--simulate-gpus", "2", "--simulate-gpu-watts", "100"]


def test_track_json_counts_only_simulated_devices(capsys, tmp_path) -> None:
    argv = ["track", *SIM, "--json", "--log-dir", str(tmp_path), "--", PY, "-c", "pass"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    data = json.loads(out)
    for key in ("duration_s", "it_energy_kwh", "facility_energy_kwh", "co2e_kg", "components"):
        assert key in data
    comps = data["components"]
    assert sorted(c["kind"] for c in comps) == ["cpu", "gpu", "gpu"]
    for c in comps:
        assert set(c) >= {"name", "kind", "energy_kwh", "mean_power_w", "estimated"}
        assert c["estimated"] is False
    by_kind = {c["kind"]: c["mean_power_w"] for c in comps}
    assert by_kind["gpu"] == pytest.approx(100.0, rel=0.05)
    assert by_kind["cpu"] == pytest.approx(10.0, rel=0.05)
    total_j = sum(c["energy_j"] for c in comps)
    assert data["it_energy_kwh"] == pytest.approx(total_j / 3.6e6)
    assert data["facility_energy_kwh"] == pytest.approx(data["it_energy_kwh"] * 1.55)
    assert data["exit_code"] == 0
    assert Path(data["run_record"]).exists()


def test_track_exits_with_the_commands_code(capsys) -> None:
    code, _, err = run(["track", *SIM, "--", PY, "-c", "import sys; sys.exit(3)"], capsys)
    assert code == 3
    assert "exited with 3" in err and "kWh" in err and "CO2e" in err


def test_track_measures_child_cpu_time_on_this_machine(capsys) -> None:
    busy = "import time\nwhile time.process_time() < 0.3: pass"
    code, out, _ = run(["track", "--json", "--interval", "0.1", "--", PY, "-c", busy], capsys)
    assert code == 0
    data = json.loads(out)
    cpu = next(c for c in data["components"] if c["kind"] == "cpu")
    assert cpu["energy_j"] > 0
    # machines like this one have no counters: the numbers say they are estimates
    assert data["estimated"] == any(c["estimated"] for c in data["components"])


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["track"], ["after --"]),
        (["track", "--", "no-such-command-xyz"], ["command not found", "no-such-command-xyz"]),
        (["track", "--simulate-gpus", "2", "--", PY, "-c", "pass"], ["simulate_gpu_watts"]),
        (["track", "--region", "Atlantis", "--", PY, "-c", "pass"], ["Atlantis"]),
        (["track", "--pue", "0.3", "--", PY, "-c", "pass"], ["PUE"]),
        (["track", "--interval", "0", "--", PY, "-c", "pass"], ["interval"]),
        (["track", "--cpu-scope", "galaxy", "--", PY, "-c", "pass"], ["cpu-scope"]),
        (["runs", "show", "/no/such/run.jsonl"], ["does not exist"]),
        (["track", "--log-dir", "/dev/null/x", "--", PY, "-c", "pass"], ["run record"]),
        (["hardware", "--cpu-scope", "x"], ["cpu-scope"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words) -> None:
    code, _, err = run(argv, capsys)
    one_line_error(code, err, *words)


def test_runs_show_and_export(capsys, tmp_path) -> None:
    code, out, _ = run(
        ["track", *SIM, "--json", "--log-dir", str(tmp_path), "--", PY, "-c", "pass"], capsys
    )
    assert code == 0
    tracked = json.loads(out)
    code, out, _ = run(["runs", "show", str(tmp_path), "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["complete"] is True
    assert shown["it_energy_kwh"] == pytest.approx(tracked["it_energy_kwh"])
    code, out, _ = run(["runs", "show", tracked["run_record"]], capsys)
    assert code == 0 and "finished" in out and "gpu:1 (simulated)" in out
    assert "energy is simulated: all simulated" in out
    assert "measured" not in out.replace("no device was measured", "")

    csv_path = tmp_path / "emissions.csv"
    code, out, _ = run(["runs", "export", str(tmp_path), "--csv", str(csv_path)], capsys)
    assert code == 0 and "appended" in out
    with open(csv_path, newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["energy_consumed"]) == pytest.approx(tracked["it_energy_kwh"])
    assert row["run_id"] == tracked["run_id"]
    assert row["provenance"] == "simulated" and row["provenance_parts"] == "all simulated"

    code, _, err = run(["runs", "export", str(tmp_path), "--csv", str(tmp_path)], capsys)
    one_line_error(code, err, "is a folder")
    code, _, err = run(["runs", "export", str(tmp_path), "--csv", "/dev/null/e.csv"], capsys)
    one_line_error(code, err, "cannot write")

    bad = tmp_path / "foreign.csv"
    bad.write_text("x,y\n")
    code, _, err = run(["runs", "export", str(tmp_path), "--csv", str(bad)], capsys)
    one_line_error(code, err, "other columns")


def test_hardware_explains_every_component(capsys, tmp_path) -> None:
    from tests.fakes.powercap import server_tree

    server_tree(tmp_path / "pc", packages=1)
    code, out, _ = run(["hardware", "--json", "--powercap-root", str(tmp_path / "pc")], capsys)
    assert code == 0
    data = json.loads(out)
    status = {c["component"]: c["status"] for c in data["components"]}
    assert status["cpu"] == "measured" and status["dram"] == "measured"
    assert "gpu" in status
    prov = {c["component"]: c["provenance"] for c in data["components"]}
    assert prov["cpu"] == prov["dram"] == "measured"
    assert prov["gpu"] in (None, "measured")  # None: no GPU here
    assert {m["provenance"] for m in data["meters"] if m["kind"] != "gpu"} == {"measured"}
    assert data["cpu_power_model"]["w_per_core"] > 0
    code, out, _ = run(["hardware", "--powercap-root", str(tmp_path / "none")], capsys)
    assert code == 0
    assert "cpu   estimated" in out and "no RAPL counters" in out


def test_track_reports_a_signal_like_a_shell(capsys) -> None:
    kill_self = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    code, out, _ = run(["track", *SIM, "--json", "--", PY, "-c", kill_self], capsys)
    assert code == 128 + 15
    assert json.loads(out)["exit_code"] == 143


def test_kill_9_of_lpm_track_keeps_the_totals_so_far(tmp_path, capsys) -> None:
    argv = [PY, "-m", "lpm.cli.main", "track", "--simulate-gpus", "2", "--simulate-gpu-watts"]
    argv += ["50", "--interval", "0.02", "--checkpoint", "0.05", "--log-dir", str(tmp_path)]
    argv += ["--", PY, "-c", "import time; time.sleep(60)"]
    lpm = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            records = list(tmp_path.glob("*.jsonl"))
            if records and records[0].read_text().count('"type":"checkpoint"') >= 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail("lpm track wrote no checkpoints")
        children = psutil.Process(lpm.pid).children(recursive=True)
    finally:
        os.kill(lpm.pid, signal.SIGKILL)
        lpm.wait()
        for c in children:
            c.kill()
    code, out, _ = run(["runs", "show", str(tmp_path), "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["complete"] is False
    assert shown["duration_s"] > 0
    assert shown["it_energy_kwh"] * 3.6e6 == pytest.approx(100.0 * shown["duration_s"], rel=0.05)
    assert sorted(c["kind"] for c in shown["components"]) == ["gpu", "gpu"]


def _values(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in _values(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in _values(x)]
    return [obj]


def test_track_with_simulated_gpus_says_simulated_and_never_measured(capsys, tmp_path) -> None:
    argv = ["track", "--simulate-gpus", "4", "--simulate-gpu-watts", "300", "--json"]
    argv += ["--log-dir", str(tmp_path), "--", "sleep", "2"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    data = json.loads(out)
    comps = data["components"]
    assert len(comps) == 4
    assert all(c["provenance"] == "simulated" and c["estimated"] is False for c in comps)
    assert data["provenance"] == "simulated" and data["provenance_parts"] == "all simulated"
    assert data["provenance_by_kind"] == {"gpu": "simulated"}
    assert "measured" not in _values(data)  # no value anywhere says measured
    assert data["it_energy_kwh"] == pytest.approx(4 * 300 * data["duration_s"] / 3.6e6, rel=0.05)
    # the record says the same when it is read back, and the text output too
    code, out, _ = run(["runs", "show", str(tmp_path), "--json"], capsys)
    shown = json.loads(out)
    assert shown["provenance"] == "simulated" and "measured" not in _values(shown)
    code, _, err = run(
        ["track", "--simulate-gpus", "2", "--simulate-gpu-watts", "300", "--", PY, "-c", "pass"],
        capsys,
    )
    assert code == 0 and "simulated" in err and "measured" not in err


def test_track_on_this_machine_states_what_measured_it(capsys) -> None:
    from lpm.energy import detect
    from lpm.provenance import Provenance

    code, out, _ = run(["track", "--json", "--", PY, "-c", "pass"], capsys)
    assert code == 0
    data = json.loads(out)
    expected = {i.component: i.provenance for i in detect().items if i.provenance is not None}
    assert data["provenance_by_kind"] == {k: v.value for k, v in expected.items()}
    assert data["provenance"] == Provenance.combine(expected.values()).value
    if set(expected.values()) == {Provenance.ESTIMATED}:  # this VM: no NVML, no RAPL
        assert data["provenance"] == "estimated" and data["estimated"] is True
        assert all(c["provenance"] == "estimated" for c in data["components"])


def test_a_mixed_run_says_which_part_is_which(capsys, tmp_path) -> None:
    from lpm.carbon import footprint
    from lpm.cli.energy_cmds import _print_summary, _summary_json
    from lpm.energy import ComponentEnergy, RunSummary
    from lpm.energy.export import codecarbon_row

    comps = [
        ComponentEnergy("gpu:0 A100", "gpu", 3600.0, 0.001, 300.0, "measured", "g0"),
        ComponentEnergy("cpu (estimated)", "cpu", 360.0, 0.0001, 30.0, "estimated", "c0"),
        ComponentEnergy("dram (estimated)", "dram", 36.0, 0.00001, 3.0, "estimated", "d0"),
    ]
    s = RunSummary("r", 12.0, 0.00111, 0.0017, 0.0004, comps, {}, 0, {}, footprint(0.00111), True)
    data = _summary_json(s)
    assert data["provenance"] == "mixed" and data["estimated"] is True
    assert data["provenance_parts"] == "gpu measured; cpu, dram estimated"
    assert codecarbon_row(s)["provenance_parts"] == "gpu measured; cpu, dram estimated"
    _print_summary(s, err=False)
    out = capsys.readouterr().out
    assert "energy is mixed: gpu measured; cpu, dram estimated" in out
