"""Issue 13: a full disk under log_dir during the run never reaches the measured job.

The record degrades (one warning, the lines lost counted in the run's notes, the file cut
back to whole lines); the totals stay in memory; `lpm track` still reports and exits with
the command's code. At the start, an unwritable record is still a one-line error.
"""

from __future__ import annotations

import errno
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.cli_run import one_line_error
from tests.fakes.nvml import FakeClock

from lpm.energy import SimulatedMeter, Tracker, lines, read_run


class DiskFillsUp:
    """A record file on a disk with room for `room` more lines: then each write puts half
    its bytes on disk and raises ENOSPC, as a filling disk does, until :meth:`free`."""

    def __init__(self, path: Path, room: int, target: str | None = None) -> None:
        self.real = open(target or path, "ab", buffering=0)  # noqa: SIM115
        self.room = room
        self.attempts = 0

    def write(self, data: bytes) -> int:
        self.attempts += 1
        if self.room <= 0:
            self.real.write(bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= 1
        return self.real.write(data)

    def free(self) -> None:
        self.room = 10**6

    def fileno(self) -> int:
        return self.real.fileno()

    def truncate(self, size: int) -> int:
        return self.real.truncate(size)

    def close(self) -> None:
        self.real.close()

    @property
    def closed(self) -> bool:
        return self.real.closed


@pytest.fixture
def disk(monkeypatch):
    """Make the next record file a :class:`DiskFillsUp` with room for `room` lines."""
    made: list[DiskFillsUp] = []

    def install(room: int, target: str | None = None) -> list[DiskFillsUp]:
        def fake(path: Path) -> DiskFillsUp:
            made.append(DiskFillsUp(path, room, target))
            return made[-1]

        monkeypatch.setattr(lines, "open_append", fake)
        return made

    return install


def parsed(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]  # every line whole


def test_a_failed_line_is_cut_back_and_later_lines_stay_whole(tmp_path, disk) -> None:
    made = disk(room=1)
    writer = lines.RecordWriter(tmp_path / "r.jsonl")
    (f,) = made
    writer.write({"type": "header", "n": 1})
    with pytest.raises(OSError, match="No space"):
        writer.write({"type": "window", "n": 2})
    assert parsed(writer.path) == [{"type": "header", "n": 1}]  # the half line is gone
    f.free()
    writer.write({"type": "checkpoint", "n": 3})
    writer.close()
    writer.close()
    assert [x["n"] for x in parsed(writer.path)] == [1, 3]


def _tracked(tmp_path: Path, checkpoint_s: float = 3600.0) -> Tracker:
    clock = FakeClock()
    meters = [SimulatedMeter("gpu", 100.0, 2, clock=clock)]
    t = Tracker(meters, interval_s=3600, log_dir=tmp_path, checkpoint_s=checkpoint_s,
                clock=clock)  # fmt: skip
    with t:
        for _ in range(3):
            with t.window("train"):
                clock.advance(1.0)
                t.step()
            t.sample()  # a checkpoint line when checkpoint_s has passed
        clock.advance(1.0)
    return t


@pytest.mark.parametrize(
    ("room", "lost"),
    [(1, "windows"), (2, "a window on"), (4, "the summary"), (3, "checkpoints")],
)
def test_a_disk_that_fills_during_the_run_costs_the_job_nothing(
    tmp_path, disk, caplog, room, lost
) -> None:
    made = disk(room=room)
    caplog.set_level(logging.WARNING, logger="lpm.energy")
    checkpoint_s = 0.5 if lost == "checkpoints" else 3600.0
    t = _tracked(tmp_path, checkpoint_s)  # no exception reaches the block
    s = t.summary()
    assert s.status == "finished"
    assert s.it_energy_j == pytest.approx(4.0 * 200.0)  # the totals, kept in memory
    assert s.windows["train"]["count"] == 3 and s.steps == 3
    warnings = [r for r in caplog.records if "cannot write run record" in r.getMessage()]
    assert len(warnings) == 1 and "No space left on device" in warnings[0].getMessage()
    assert made[0].attempts > room  # the writes went on being tried (and failed)
    kept = parsed(t.record_path)  # the file holds whole lines only
    assert len(kept) == room
    if lost != "the summary":  # lines lost before the end are counted in the notes
        assert any("could not be written to the run record" in f for f in s.faults)
    back = read_run(t.record_path)  # what reached the disk still reads
    assert back.status == "interrupted" and back.duration_s <= s.duration_s


def test_a_real_enospc_from_dev_full(tmp_path, disk, caplog) -> None:
    disk(room=10**6, target="/dev/full")  # the kernel's own "No space left on device"
    caplog.set_level(logging.WARNING, logger="lpm.energy")
    clock = FakeClock()
    with pytest.raises(Exception, match="No space left on device"):
        Tracker([SimulatedMeter("cpu", 10.0, 1, clock=clock)], log_dir=tmp_path,
                clock=clock).start()  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # refused at the start: nothing measured, no file


def test_a_header_that_cannot_be_written_is_a_one_line_error(tmp_path, disk, capsys) -> None:
    disk(room=0)
    line = one_line_error(
        ["track", "--log-dir", str(tmp_path), "--simulate-cpu-watts", "10", "--",
         sys.executable, "-c", "pass"],
        capsys,
    )  # fmt: skip
    assert "cannot write a run record" in line and "No space left on device" in line


SCRIPT = """
import errno, sys
import lpm.energy.lines as lines

class Full:
    def __init__(self, path):
        self.real, self.room = open(path, "ab", buffering=0), 1  # the header fits
    def write(self, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= 1
        return self.real.write(data)
    def __getattr__(self, name):
        return getattr(self.real, name)

lines.open_append = Full
from lpm.cli.main import main
main(sys.argv[1:])
"""


def test_lpm_track_on_a_full_disk_reports_and_exits_with_the_commands_code(tmp_path) -> None:
    script = tmp_path / "full_disk.py"
    script.write_text(textwrap.dedent(SCRIPT))
    logs = tmp_path / "logs"
    child = "import sys, time; time.sleep(0.3); sys.exit(3)"
    done = subprocess.run(
        [sys.executable, str(script), "track", "--log-dir", str(logs), "--interval", "0.05",
         "--checkpoint", "0.05", "--simulate-cpu-watts", "10", "--", sys.executable, "-c",
         child],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("cannot write run record") == 1
    assert "exited with 3" in done.stderr and "kWh" in done.stderr
    assert "could not be written to the run record" in done.stderr  # the note says so
    (record,) = logs.glob("*.jsonl")
    assert [x["type"] for x in parsed(record)] == ["header"]


def test_a_csv_export_on_a_full_disk_leaves_the_file_as_it_was(tmp_path, monkeypatch) -> None:
    from lpm.energy import export as export_module
    from lpm.energy import export_codecarbon_csv
    from lpm.errors import LpmError

    t = _tracked(tmp_path)
    out = tmp_path / "emissions.csv"
    export_codecarbon_csv(t.record_path, out)
    before = out.read_bytes()

    def no_space(fd: int) -> None:  # the row reached the page cache, not the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module.os, "fsync", no_space)
    with pytest.raises(LpmError, match="No space left on device"):
        export_codecarbon_csv(t.record_path, out)
    assert out.read_bytes() == before  # never half a row
    with pytest.raises(LpmError, match="No space left on device"):
        export_codecarbon_csv(t.record_path, "/dev/full")  # the kernel's own ENOSPC
