"""live(), window_stats() and a meter that blocks: measurement never waits on a meter."""

from __future__ import annotations

import time

import pytest
from tests.fakes.meters import BlockingMeter
from tests.fakes.nvml import FakeClock

from lpm.energy import LiveSnapshot, Reading, SimulatedMeter, Tracker, WindowStats
from lpm.errors import LpmError
from lpm.provenance import Provenance


@pytest.fixture
def blocking_meter():
    meter = BlockingMeter()
    yield meter
    meter.release.set()  # never leave a thread waiting 30 s behind the test


def test_live_is_the_state_after_the_last_reading() -> None:
    clock = FakeClock()
    gpu = SimulatedMeter("gpu", 100.0, 2, clock=clock)
    with Tracker([gpu], interval_s=3600, clock=clock) as t:
        first = t.live()
        assert isinstance(first, LiveSnapshot)
        assert (first.duration_s, first.it_energy_j, first.steps) == (0.0, 0.0, 0)
        clock.advance(2.0)
        t.step()
        assert t.live().it_energy_j == 0.0  # no reading since: live() never reads
        assert t.live().age_s == pytest.approx(2.0)
        t.sample()
        snap = t.live()
        assert snap.duration_s == pytest.approx(2.0)
        assert snap.it_energy_j == pytest.approx(400.0)
        assert snap.it_power_w == pytest.approx(200.0)
        assert snap.steps == 1 and snap.age_s == 0.0 and not snap.stale
        assert snap.provenance is Provenance.SIMULATED
        assert snap.to_dict()["provenance"] == "simulated"
    assert t.live().it_energy_j == pytest.approx(400.0) and not t.live().stale


def test_live_before_start_is_a_user_error() -> None:
    with pytest.raises(LpmError, match="never started"):
        Tracker([SimulatedMeter()]).live()


def test_live_is_stale_when_readings_stop() -> None:
    clock = FakeClock()
    meters = [SimulatedMeter(clock=clock)]
    with Tracker(meters, interval_s=1.0, read_timeout_s=1.0, clock=clock) as t:
        # the sampler thread waits on real time (1 s), the fake clock runs ahead of it
        clock.advance(10.0)
        assert t.live().stale and t.live().age_s == pytest.approx(10.0)


def test_a_meter_that_blocks_for_30_s_never_slows_steps_or_live(blocking_meter) -> None:
    meter = blocking_meter
    started = time.monotonic()
    with Tracker([meter], interval_s=0.02, read_timeout_s=0.2) as t, t.window("train"):
        for _ in range(5):
            time.sleep(0.02)
            t.step()
        meter.block.set()
        assert meter.entered.wait(5)  # a read is now stuck inside the meter
        loop_start = time.monotonic()
        for _ in range(200):
            t.step()
            snap = t.live()
            time.sleep(0.002)
        loop_s = time.monotonic() - loop_start
        time.sleep(0.5)  # the sampler gives up on the stuck read and estimates
        during = t.live()
    total_s = time.monotonic() - started
    assert loop_s < 5.0, loop_s  # 200 steps: about 0.4 s of sleeps, never 30 s
    assert total_s < 10.0, total_s  # and the Tracker's exit does not wait for the meter
    assert snap.steps <= 205
    assert during.provenance is Provenance.ESTIMATED  # the gap is a flagged estimate
    assert during.it_energy_j > 0 and during.age_s < 2.0  # readings go on (estimated)
    s = t.summary()
    assert s.steps == 205 and s.windows["train"]["steps"] == 205
    assert s.provenance is Provenance.ESTIMATED and s.components[0].estimated
    assert s.windows["train"]["provenance"] == "estimated"
    assert any("stuck meter" in f for f in s.faults)
    assert t.step_stats("train").provenance is Provenance.ESTIMATED


def test_readings_come_back_after_a_stuck_read(blocking_meter) -> None:
    meter = blocking_meter
    with Tracker([meter], interval_s=0.02, read_timeout_s=0.1) as t:
        time.sleep(0.1)
        meter.block.set()
        assert meter.entered.wait(5)
        time.sleep(0.3)
        meter.block.clear()
        meter.release.set()
        time.sleep(0.2)
    s = t.summary()
    assert any("readings are back" in f for f in s.faults)
    assert s.provenance is Provenance.ESTIMATED  # part of the energy stays an estimate
    assert s.duration_s > 0.5 and s.it_energy_j > 0


def _batches(t: Tracker, clock: FakeClock, seconds: list[float], steps: int = 2) -> None:
    for sec in seconds:
        with t.window("batch"):
            for _ in range(steps):
                clock.advance(sec / steps)
                t.step()


def test_window_stats_over_occurrences_with_skip() -> None:
    clock = FakeClock()
    gpu = SimulatedMeter("gpu", 100.0, 1, clock=clock)
    with Tracker([gpu], interval_s=3600, clock=clock) as t:
        _batches(t, clock, [5.0, 1.0, 2.0, 3.0])
        ws = t.window_stats("batch")
        assert isinstance(ws, WindowStats)
        assert ws.count == 4 and ws.skip == 0
        assert ws.duration_s_mean == pytest.approx(2.75)
        assert ws.energy_j_mean == pytest.approx(275.0)
        assert ws.steps_mean == pytest.approx(2.0)
    ws = t.window_stats("batch", skip=1)  # a warm-up left out, after the run too
    assert ws.count == 3 and ws.skip == 1
    assert ws.duration_s_mean == pytest.approx(2.0)
    assert ws.duration_s_std == pytest.approx(1.0)
    assert ws.energy_j_mean == pytest.approx(200.0)
    assert ws.energy_j_std == pytest.approx(100.0)
    assert ws.provenance is Provenance.SIMULATED and not ws.estimated
    assert WindowStats.from_dict(ws.to_dict()) == ws
    assert ws.to_dict()["provenance"] == "simulated" and ws.to_dict()["estimated"] is False


def test_window_stats_errors() -> None:
    clock = FakeClock()
    with Tracker([SimulatedMeter(clock=clock)], interval_s=3600, clock=clock) as t:
        with pytest.raises(LpmError, match="never closed"):
            t.window_stats("decode")
        t.start_window("decode")
        with pytest.raises(LpmError, match="never closed"):  # open is not closed
            t.window_stats("decode")
        t.end_window("decode")
        with pytest.raises(LpmError, match="nothing is left"):
            t.window_stats("decode", skip=1)
        with pytest.raises(LpmError, match="skip"):
            t.window_stats("decode", skip=-1)


def test_window_stats_provenance_of_a_mixed_window() -> None:
    clock = FakeClock()
    gpu = SimulatedMeter("gpu", 100.0, 1, clock=clock)

    class Cpu:
        kind, name, provenance, estimated = "cpu", "cpu est", Provenance.ESTIMATED, True

        def read(self) -> Reading:
            return Reading((10.0 * clock(),), ("cpu:0",), provenance=(Provenance.ESTIMATED,))

    with Tracker([gpu, Cpu()], interval_s=3600, clock=clock) as t:
        _batches(t, clock, [1.0, 1.0])
    assert t.window_stats("batch").provenance is Provenance.MIXED
    s = t.summary()
    assert s.windows["batch"]["provenance"] == "mixed"
    assert s.windows["batch"]["provenance_by_kind"] == {"gpu": "simulated", "cpu": "estimated"}
