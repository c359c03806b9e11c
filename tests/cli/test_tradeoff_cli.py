"""`lpm tradeoff`: a tiny sweep end to end (--json on stdout only, the table on stderr);
bad input is one line on stderr, exit code 2, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_run import one_line_error, run_cli
from tests.ldm.helpers import set_threads, tiny_autoencoder, tiny_ldm

set_threads()

QUICK = ["--samplers", "ddim", "--steps", "2,3", "--batches", "1,2", "--samples", "4",
         "--energy-steps", "2", "--reference", "ddim-3-b1", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tradeoff_cli")
    return tiny_ldm(root / "ldm", tiny_autoencoder(root / "ae", dims=2), dims=2)


def test_sweep_json_on_stdout_only(run, tmp_path, capsys):
    out = tmp_path / "sweep"
    code, stdout, stderr = run_cli(
        ["tradeoff", "--run", str(run), "--out", str(out), *QUICK, "--region", "FR", "--json"],
        capsys,
    )
    assert code == 0, stderr
    summary = json.loads(stdout)  # the whole of stdout is the summary
    assert summary["schema_version"] == 1 and summary["region"] == "FR"
    assert summary["reference"] == "ldm/ddim-3-b1"
    assert summary["recommended"] in summary["within"]
    assert "recommended: " + summary["recommended"] in stderr
    assert "ldm/ddim-2-b2" in stderr and "kg CO2e / 10,000" in stderr
    assert len((out / "tradeoff.jsonl").read_text().splitlines()) == 4
    # again without --json: nothing is measured, stdout names the files
    code, stdout, stderr = run_cli(["tradeoff", "--run", str(run), "--out", str(out), *QUICK],
                                   capsys)  # fmt: skip
    assert code == 0, stderr
    assert stdout.splitlines() == [f"points: {out / 'tradeoff.jsonl'}",
                                   f"summary: {out / 'tradeoff.json'}"]  # fmt: skip
    assert len((out / "tradeoff.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--steps", "2,x"], "--steps takes whole numbers"),
        (["--samplers", "euler"], "unknown sampler"),
        (["--samplers", "rflow"], "cannot run a model trained for"),
        (["--steps", "2,5000"], "out of range"),
        (["--reference", "ddim3"], "--reference is SAMPLER-STEPS-bBATCH"),
        (["--samples", "2"], "invalid quality_samples"),
        (["--tolerance", "-1"], "invalid tolerance"),
        (["--batches", "0"], "invalid batches"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(run, tmp_path, capsys, change, message):
    out = tmp_path / "never"
    line = one_line_error(["tradeoff", "--run", str(run), "--out", str(out), *QUICK, *change],
                          capsys)  # fmt: skip
    assert message in line
    assert not out.exists()


def test_not_a_run_and_missing_run(tmp_path, capsys):
    out = tmp_path / "never"
    line = one_line_error(["tradeoff", "--run", str(tmp_path), "--out", str(out), *QUICK], capsys)
    assert "not a trained diffusion run" in line
    assert "--run" in one_line_error(["tradeoff", "--out", str(out)], capsys)
    assert not out.exists()
