"""An absurd batch is refused at once, with the largest batch that fits (issue 13)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_run import one_line_error


def test_a_batch_of_1e20_is_one_line_naming_a_batch_that_fits(
    tmp_path: Path, ae2d: Path, capsys
) -> None:
    argv = ["train", "--dims", "2", "--size", "32", "--autoencoder", str(ae2d)]
    argv += ["--out", str(tmp_path / "t"), "--dry-run", "--batch-size", "99999999999999999999"]
    line = one_line_error(argv, capsys)  # bisected, not counted down from 1e20
    assert "needs about" in line and "--batch-size " in line and "fits" in line
    assert not (tmp_path / "t").exists()
