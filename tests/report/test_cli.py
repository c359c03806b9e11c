"""`lpm report DIR`: rebuilds figures and report; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpm.report.sources import read_backtest
from tests.cli_run import run_cli as run
from tests.report.synthetic import failed_record, record, write_results


def test_report_rebuilds_from_partial_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64))])
    with (tmp_path / "results.jsonl").open("a") as fh:
        fh.write(json.dumps(record(3, (16, 16, 16)))[:50])  # killed while writing
    code, out, err = run(["report", str(tmp_path)], capsys)
    assert code == 0, err
    assert f"report: {tmp_path / 'report.html'}" in out
    assert "2 scenarios, 0 without result" in out
    assert "not measured" in out
    assert "from tables" in out
    # the packaged backtest (bench/prediction_backtest.py) is quoted when it exists
    assert ("backtested" if read_backtest() else "no backtest on record") in out
    for line in out.splitlines():
        if line.startswith(("│ tables", "│ model")):
            assert "agrees" not in line and "differs" not in line, line
    assert "truncated last line" in err
    assert (tmp_path / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == [
        "fig1_image_size.png",
        "fig2_model_size.png",
        "fig3a_regions.png",
        "fig3b_months.png",
        "fig4a_processes.png",
        "fig4b_steps.png",
    ]
    assert len(list((tmp_path / "figures").glob("*.pdf"))) == 6


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in out + err
    return lines[0]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("file", "is not a directory"),
        ("empty", "no results file"),
        ("only-failed", "no finished scenario"),
        ("truncated-only", "no finished scenario"),
        ("bad-spec", "not valid YAML"),
        ("old-schema", "version-1 study record"),
    ],
)
def test_bad_study_dir_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
) -> None:
    target = tmp_path / "study"
    if setup == "file":
        target.write_text("x")
    elif setup != "missing":
        target.mkdir()
    if setup == "only-failed":
        write_results(target, [failed_record("a", "boom")])
    elif setup == "truncated-only":
        (target / "results.jsonl").write_text('{"scenario_id": "a", "sta')
    elif setup == "old-schema":
        old = record(2, (32, 32))
        del old["schema_version"]
        write_results(target, [old])
    elif setup == "bad-spec":
        write_results(target, [record(2, (32, 32))])
        (target / "spec.yaml").write_text("regions: [SE\n")
    line = _one_line_error(*run(["report", str(target)], capsys))
    assert line.startswith("error: ")
    assert message in line
