"""The CLI convention: user errors are one line on stderr and exit code 2."""

import subprocess
import sys

import pytest

from lpm.errors import LpmError
from tests.cli_run import run_cli as run_main


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0
    assert out.startswith("lpm ")


def test_unknown_command_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["no-such-command"], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "no-such-command" in lines[0]
    assert "Traceback" not in err + out


def test_lpm_error_is_mapped_to_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lpm.cli.main as cli_main

    def boom(*args: object, **kwargs: object) -> None:
        raise LpmError("the thing was wrong;\n do this instead")

    monkeypatch.setattr(cli_main, "app", boom)
    code, _, err = run_main(["anything"], capsys)
    assert code == 2
    assert err == "error: the thing was wrong; do this instead\n"


def test_console_script_module_runs_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lpm.cli.main", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_ctrl_c_in_any_command_is_one_line_and_130(monkeypatch, capsys) -> None:
    import typer

    from lpm.cli import main as cli_main

    app = typer.Typer()

    @app.command()
    def slow() -> None:
        raise KeyboardInterrupt

    @app.command()
    def other() -> None:
        pass

    monkeypatch.setattr(cli_main, "app", app)
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["slow"])
    assert exc.value.code == 130
    _, err = capsys.readouterr()
    assert err.strip() == "interrupted"
