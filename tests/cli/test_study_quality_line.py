"""`lpm study` ends with one line on its quality stage; `--no-quality` is a flag of the command."""

from __future__ import annotations

import pytest

from lpm.cli.study_cmds import quality_line
from lpm.units import J_PER_KWH
from tests.cli_run import run_cli
from tests.results.quality_factory import make_quality_record


def test_quality_line_gives_fidelity_floor_copies_and_useful_energy() -> None:
    record = make_quality_record(copy_rate=0.25)
    line = quality_line(record)
    assert line.startswith("quality (2D 32x32 small, 1,500 iterations):")
    assert "HU Wasserstein 41.5 HU (real vs real 12.2)" in line
    assert "copy rate 25%" in line
    per_useful_j = 1e-4 * J_PER_KWH / 48
    assert f"energy per useful sample {per_useful_j:.3g} J" in line


def test_quality_line_when_every_sample_is_a_copy() -> None:
    assert "n/a (all copies)" in quality_line(make_quality_record(copy_rate=1.0))


def test_study_has_a_no_quality_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["study", "--help"], capsys)
    assert code == 0 and "--no-quality" in out
