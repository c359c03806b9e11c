"""Issue 13: `lpm track` options that used to hang, overflow or write outside --log-dir."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.cli_run import one_line_error
from tests.cli_run import run_cli as run

PY = [sys.executable, "-c", "pass"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--interval", "inf"], "interval_s must be"),
        (["--interval", "1e300"], "interval_s must be"),
        (["--checkpoint", "nan"], "checkpoint_s must be"),
        (["--simulate-gpus", "100000000", "--simulate-gpu-watts", "300"], "simulate_gpus"),
        (["--simulate-cpu-watts", "nan"], "simulate_cpu_watts"),
        (["--simulate-cpu-watts", "inf"], "simulate_cpu_watts"),
        (["--run-name", "../../etc/evil"], "run name"),
        (["--run-name", "a/b"], "run name"),
        (["--run-name", "x" * 300], "run name"),
    ],
)
def test_bad_track_options_are_one_line_and_write_nothing(tmp_path, capsys, option, message):
    logs = tmp_path / "logs"
    line = one_line_error(["track", "--log-dir", str(logs), *option, "--", *PY], capsys)
    assert message in line
    assert not logs.exists() or not any(logs.iterdir())
    assert not (tmp_path / "etc").exists()


def test_a_plain_run_name_is_kept(tmp_path, capsys):
    code, out, err = run(
        ["track", "--log-dir", str(tmp_path), "--run-name", "exp-1.a_b",
         "--simulate-cpu-watts", "10", "--json", "--", *PY],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["run_id"].startswith("exp-1.a_b-")
    assert [p.name.startswith("exp-1.a_b-") for p in tmp_path.iterdir()] == [True]


def test_json_stays_json_when_a_warning_is_logged(tmp_path):
    # an unsorted CSV makes lpm.plan log a warning while --json prints the plan; run as a
    # user does, so the CLI's own log handler is the one that writes
    path = tmp_path / "series.csv"
    path.write_text("timestamp,g\n2026-12-02T02:00,300\n2026-12-02T00:00,100\n")
    argv = ["plan", "--kwh", "1", "--hours", "1", "--intensity-csv", str(path),
            "--earliest", "2026-12-02T00:00Z", "--within", "2h", "--json"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from lpm.cli.main import main; main(sys.argv[1:])",
         *argv],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sorted" in done.stderr  # the warning went to stderr
    json.loads(done.stdout)  # and stdout holds nothing but the plan


def test_runs_show_on_a_run_folder_finds_the_record_not_losses_jsonl(tmp_path, capsys):
    # issue 13: the newest *.jsonl of any kind (losses.jsonl) used to be picked and fail
    code, _, err = run(
        ["track", "--log-dir", str(tmp_path), "--simulate-cpu-watts", "10", "--", *PY], capsys
    )
    assert code == 0, err
    (tmp_path / "losses.jsonl").write_text('{"iteration": 1, "loss": 0.5}\n')
    (tmp_path / "results.jsonl").write_text('{"schema_version": 2}\n')
    code, out, err = run(["runs", "show", str(tmp_path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["run_id"].startswith("run-")


# a command that counts the SIGINTs it gets, then ends as a shell reports Ctrl-C (130)
COUNTS_SIGINT = """
import pathlib, signal, sys, time
seen = pathlib.Path(sys.argv[1])
def on_int(signum, frame):
    with open(seen, "a") as fh:
        fh.write("SIGINT\\n")
signal.signal(signal.SIGINT, on_int)
pathlib.Path(sys.argv[2]).write_text("ready")
deadline = time.monotonic() + 10
while time.monotonic() < deadline and not seen.exists():
    time.sleep(0.01)
time.sleep(0.5)  # time for a second SIGINT, were one sent
sys.exit(130)
"""


def _start_track(tmp_path, **popen) -> tuple[subprocess.Popen, object, object]:
    seen, ready = tmp_path / "seen", tmp_path / "ready"
    argv = [sys.executable, "-m", "lpm.cli.main", "track", "--log-dir", str(tmp_path / "logs"),
            "--simulate-cpu-watts", "10", "--json", "--",
            sys.executable, "-c", COUNTS_SIGINT, str(seen), str(ready)]  # fmt: skip
    lpm = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert lpm.poll() is None and time.monotonic() < deadline, lpm.communicate()
        time.sleep(0.02)
    return lpm, seen, tmp_path / "logs"


def _check_interrupted(lpm, seen, logs, note: str) -> None:
    out, err = lpm.communicate(timeout=60)
    assert lpm.returncode == 130, err
    assert "Traceback" not in err.decode()
    assert seen.read_text() == "SIGINT\n"  # the command got it, exactly once
    data = json.loads(out)
    assert data["exit_code"] == 130 and data["status"] == "interrupted"
    (record,) = logs.glob("*.jsonl")
    last = json.loads(record.read_text().splitlines()[-1])
    assert last["type"] == "summary" and last["status"] == "interrupted"
    assert [f for f in data["faults"] if "SIGINT" in f] == [note]


def test_sigint_sent_to_lpm_alone_reaches_the_command_once(tmp_path) -> None:
    lpm, seen, logs = _start_track(tmp_path)
    lpm.send_signal(signal.SIGINT)  # to lpm's pid only, not its process group
    _check_interrupted(lpm, seen, logs, "SIGINT sent to lpm was passed on to the command")


def test_ctrl_c_at_a_terminal_reaches_the_command_once(tmp_path) -> None:
    import fcntl
    import os
    import pty
    import termios

    try:
        master, slave = pty.openpty()
    except OSError as exc:  # a sandbox without pseudo-terminals
        pytest.skip(f"no pseudo-terminal here ({exc})")

    def controlling_tty() -> None:  # lpm leads a session whose terminal is the pty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        lpm, seen, logs = _start_track(
            tmp_path, stdin=slave, start_new_session=True, preexec_fn=controlling_tty
        )
        os.write(master, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        # not sent again (two SIGINTs at once would often merge into one: the note tells)
        _check_interrupted(
            lpm, seen, logs, "SIGINT from the terminal reached the command itself; lpm waited"
        )
    finally:
        os.close(master)
        os.close(slave)


def test_which_signals_are_passed_on() -> None:
    from lpm.cli.energy_cmds import SI_KERNEL, forwards

    si_user = 0  # kill(2)
    assert forwards(signal.SIGINT, si_user) and forwards(signal.SIGTERM, si_user)
    assert not forwards(signal.SIGINT, SI_KERNEL)  # Ctrl-C: the command has it already
    assert forwards(signal.SIGTERM, SI_KERNEL)


def test_lpm_track_leaves_the_signal_mask_as_it_found_it(tmp_path, capsys) -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    code, _, err = run(["track", "--simulate-cpu-watts", "10", "--", *PY], capsys)
    assert code == 0, err
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    one_line_error(["track", "--log-dir", "/dev/null/x", "--", *PY], capsys)  # start fails
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert signal.SIGINT not in before
