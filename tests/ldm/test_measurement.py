"""No silent fallback in ldm's measurements: unknown FLOPs are None, a missing window is a
bug that raises, and the progress bar never waits on a meter."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import torch

from lpm.ldm.flops import count_flops
from lpm.ldm.progress import LiveProgress, live_energy
from lpm.ldm.tracking import (
    MissingWindowError,
    training_measurements,
    window_energy_j,
    window_steps,
)
from lpm.provenance import Provenance


def test_count_flops_counts_a_matmul() -> None:
    a, b = torch.ones(4, 8), torch.ones(8, 3)
    assert count_flops(lambda: a @ b) == 2 * 4 * 8 * 3


def test_count_flops_is_unknown_when_counting_fails() -> None:
    def broken() -> None:
        raise RuntimeError("cannot trace this")

    assert count_flops(broken) is None


def test_count_flops_is_unknown_when_nothing_is_counted() -> None:
    assert count_flops(lambda: None) is None


def _summary(**windows: dict) -> SimpleNamespace:
    return SimpleNamespace(
        windows=windows,
        it_energy_kwh=1.0,  # 3.6 MJ: must never stand in for a window
        duration_s=1000.0,
        co2e_kg=0.4,
        provenance=Provenance.MIXED,
        estimated=True,
    )


def test_window_values_come_from_the_window() -> None:
    s = _summary(train={"energy_j": 12.5, "duration_s": 2.0, "steps": 5, "count": 1})
    assert window_energy_j(s, "train") == 12.5
    assert window_steps(s, "train") == 5


@pytest.mark.parametrize("ask", [window_energy_j, window_steps])
def test_a_missing_window_raises_never_the_whole_run(ask) -> None:
    s = _summary(checkpoint={"energy_j": 1.0, "duration_s": 0.1, "steps": 0, "count": 1})
    with pytest.raises(MissingWindowError, match=r"no closed window 'train'.*checkpoint"):
        ask(s, "train")


class _Tracker:
    def __init__(self, summary: SimpleNamespace) -> None:
        self._summary = summary

    def summary(self) -> SimpleNamespace:
        return self._summary

    def step_stats(self, window: str) -> None:
        from lpm.errors import LpmError

        raise LpmError("no steps")


def test_training_measurements_need_the_train_window_only_when_trained() -> None:
    empty = _Tracker(_summary())
    _, fields = training_measurements(empty, 0)  # resumed at its last iteration
    assert fields["energy_per_iteration_j"] == 0.0 and fields["step_stats"] is None
    with pytest.raises(MissingWindowError):
        training_measurements(empty, 3)
    trained = _Tracker(_summary(train={"energy_j": 30.0, "duration_s": 3.0, "steps": 3}))
    _, fields = training_measurements(trained, 3)
    assert fields["energy_per_iteration_j"] == 10.0


def test_training_measurements_carry_the_summary_s_provenance() -> None:
    _, fields = training_measurements(_Tracker(_summary()), 0)
    assert fields["provenance"] is Provenance.MIXED and fields["estimated"] is True


class _StuckMeterTracker:
    """A tracker whose summary() would wait on a stuck meter; live() answers at once."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.live_calls = 0

    def summary(self) -> None:
        self.released.wait(30)
        raise AssertionError("the progress bar called summary()")

    def live(self) -> SimpleNamespace:
        self.live_calls += 1
        return SimpleNamespace(
            duration_s=2.0, it_energy_j=100.0, steps=3, provenance="estimated", age_s=9, stale=True
        )


def test_live_energy_reads_the_live_snapshot() -> None:
    assert live_energy(_StuckMeterTracker()) == (50.0, 100.0, True)
    assert live_energy(SimpleNamespace()) is None  # no live(): nothing shown, nothing raised


def test_the_bar_keeps_its_pace_while_the_meter_is_stuck() -> None:
    tracker = _StuckMeterTracker()
    started = time.monotonic()
    with LiveProgress("train", 50, tracker=tracker, refresh_s=0.0) as bar:
        for _ in range(50):
            bar.advance(loss=0.5)
    elapsed = time.monotonic() - started
    tracker.released.set()
    assert elapsed < 5.0
    assert tracker.live_calls == 50
    assert bar._progress.tasks[0].completed == 50
    assert "(stale)" in bar._progress.tasks[0].fields["info"]


def test_training_with_unknown_flops_says_so(
    tmp_path, ae2d, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from lpm.ldm import train_ldm
    from tests.ldm.helpers import sim_meters, tiny_train_config

    monkeypatch.setattr("lpm.ldm.diffusion.count_flops", lambda fn: None)
    result = train_ldm(tiny_train_config(tmp_path / "run", ae2d, iterations=2), meters=sim_meters())
    assert result.flops_per_iteration is None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["flops_per_iteration"] is None
    assert result.provenance is Provenance.SIMULATED  # helpers.sim_meters()
    assert summary["provenance"] == "simulated" and summary["estimated"] is False
    assert summary["provenance_by_kind"] == {"cpu": "simulated"}


class _BlockingMeter:
    """A measured GPU whose read() blocks (up to 30 s) once ``block`` is set."""

    kind = "gpu"
    provenance = Provenance.MEASURED
    estimated = False
    name = "blocking gpu"

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.block = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def read(self):
        from lpm.energy import Reading

        if self.block.is_set():
            self.entered.set()
            self.release.wait(30)
        return Reading((100.0 * (time.monotonic() - self.t0),), ("gpu:0 blocking",))


def test_a_real_tracker_with_a_stuck_meter_never_slows_the_bar() -> None:
    from lpm.energy import Tracker

    meter = _BlockingMeter()
    try:
        with Tracker([meter], interval_s=0.02, read_timeout_s=0.2) as t:
            with LiveProgress("train", 205, tracker=t, refresh_s=0.0) as bar:
                for _ in range(5):
                    time.sleep(0.02)
                    t.step()
                    bar.advance(loss=1.0)
                meter.block.set()
                assert meter.entered.wait(5)  # a read is now stuck inside the meter
                started = time.monotonic()
                for _ in range(200):
                    t.step()
                    bar.advance(loss=1.0)
                loop_s = time.monotonic() - started
            completed = bar._progress.tasks[0].completed
    finally:
        meter.release.set()
    assert loop_s < 5.0, loop_s  # never the 30 s the meter is stuck for
    assert completed == 205
