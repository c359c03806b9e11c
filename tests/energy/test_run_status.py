"""Issue 13: a run record says how the run ended (finished, interrupted, failed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.cli_run import run_cli
from tests.fakes.nvml import FakeClock

from lpm.energy import EXPORT_COLUMNS, SimulatedMeter, Tracker, export_codecarbon_csv, read_run
from lpm.energy.export import OLDEST_COLUMNS
from lpm.energy.results import RunSummary
from lpm.errors import LpmError


def _run(tmp_path: Path, body=None) -> Tracker:
    clock = FakeClock()
    t = Tracker([SimulatedMeter("gpu", 100.0, 1, clock=clock)], interval_s=3600,
                log_dir=tmp_path, clock=clock)  # fmt: skip
    with t:
        with t.window("train"):
            clock.advance(2.0)
            t.step()
        if body is not None:
            body()
    return t


def _summary_line(path: Path) -> dict:
    return [json.loads(x) for x in path.read_text().splitlines()][-1]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (None, "finished"),
        (KeyboardInterrupt(), "interrupted"),
        (SystemExit(0), "finished"),
        (SystemExit(None), "finished"),
        (SystemExit(3), "failed"),
        (RuntimeError("boom"), "failed"),
    ],
)
def test_the_with_block_picks_the_status_from_its_exception(tmp_path, exc, status) -> None:
    def body() -> None:
        if exc is not None:
            raise exc

    holder: list[Tracker] = []
    try:
        holder.append(_run(tmp_path, body))
    except BaseException as caught:
        assert caught is exc
    (path,) = tmp_path.glob("*.jsonl")
    line = _summary_line(path)
    assert line["type"] == "summary"
    assert line["status"] == line["summary"]["status"] == status
    assert line["summary"]["complete"] is (status == "finished")
    s = read_run(path)
    assert s.status == status and s.complete is (status == "finished")
    assert s.windows["train"]["count"] == 1  # the totals are kept whatever the end


def test_stop_takes_a_status_and_refuses_another(tmp_path) -> None:
    clock = FakeClock()
    t = Tracker([SimulatedMeter("cpu", 10.0, 1, clock=clock)], log_dir=tmp_path, clock=clock)
    t.start()
    with pytest.raises(LpmError, match="status must be one of"):
        t.stop(status="done")
    clock.advance(1.0)
    assert t.summary().status == "running" and not t.summary().complete
    s = t.stop(status="interrupted")
    assert s.status == "interrupted" and not s.complete
    assert read_run(t.record_path).status == "interrupted"


def test_older_records_read_as_finished_or_interrupted(tmp_path) -> None:
    t = _run(tmp_path)
    path = t.record_path
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[-1].pop("status")
    rows[-1]["summary"].pop("status")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_run(path).status == "finished"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))  # killed: no summary
    s = read_run(path)
    assert s.status == "interrupted" and not s.complete
    assert any("no summary line" in f for f in s.faults)


def test_run_summary_status_and_complete_agree() -> None:
    t = Tracker([SimulatedMeter("cpu", 10.0, 1, clock=FakeClock())])
    with t:
        pass
    s = t.summary()
    args = {k: getattr(s, k) for k in RunSummary.__dataclass_fields__}
    assert RunSummary(**{**args, "status": "", "complete": False}).status == "interrupted"
    assert RunSummary(**{**args, "status": "", "complete": True}).status == "finished"
    assert not RunSummary(**{**args, "status": "failed", "complete": True}).complete
    with pytest.raises(ValueError, match="status must be one of"):
        RunSummary(**{**args, "status": "bogus"})


def test_runs_show_and_export_carry_the_status(tmp_path, capsys) -> None:
    def body() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, body)
    (path,) = tmp_path.glob("*.jsonl")
    code, out, err = run_cli(["runs", "show", str(path)], capsys)
    assert code == 0, err
    assert ": interrupted," in out.splitlines()[0]
    code, out, err = run_cli(["runs", "show", str(path), "--json"], capsys)
    assert code == 0 and json.loads(out)["status"] == "interrupted"
    out_csv = tmp_path / "emissions.csv"
    code, _, err = run_cli(["runs", "export", str(path), "--csv", str(out_csv)], capsys)
    assert code == 0, err
    with open(out_csv, newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert row["status"] == "interrupted"
    assert list(row)[len(OLDEST_COLUMNS)] == "status"  # new columns go at the end


def test_export_to_an_older_lpm_csv_writes_its_columns_never_misaligned(tmp_path) -> None:
    t = _run(tmp_path)
    old = tmp_path / "old.csv"
    export_codecarbon_csv(t.record_path, old)
    # as an lpm without the status column wrote it: its header and a row of its length
    with open(old, newline="") as fh:
        rows = list(csv.reader(fh))
    kept = [r[: len(OLDEST_COLUMNS)] for r in rows]
    with open(old, "w", newline="") as fh:
        csv.writer(fh).writerows(kept)
    export_codecarbon_csv(t.record_path, old, project_name="second")
    with open(old, newline="") as fh:
        rows = list(csv.reader(fh))
    assert [len(r) for r in rows] == [len(OLDEST_COLUMNS)] * 3
    assert rows[2][rows[0].index("project_name")] == "second"
    assert rows[2][-1] == "all simulated"  # provenance_parts in its own column
    # a header that is not a prefix of lpm's (columns swapped) is refused, file untouched
    swapped = list(EXPORT_COLUMNS)
    swapped[-1], swapped[-2] = swapped[-2], swapped[-1]
    other = tmp_path / "swapped.csv"
    other.write_text(",".join(swapped) + "\n")
    with pytest.raises(LpmError, match="other columns"):
        export_codecarbon_csv(t.record_path, other)
    assert other.read_text() == ",".join(swapped) + "\n"
