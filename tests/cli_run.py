"""Run the `lpm` CLI in-process and check the one-line error convention."""

from __future__ import annotations

import pytest

from lpm.cli.main import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``lpm ARGV``; return (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Assert ``lpm ARGV`` fails with one line on stderr and exit code 2; return the line."""
    code, out, err = run_cli(argv, capsys)
    assert code == 2, (out, err)
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err + out
    return lines[0]
