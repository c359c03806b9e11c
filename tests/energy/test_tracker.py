"""The Tracker: windows, steps, warm-up, faults, decorator, bounded state."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from tests.fakes.nvml import FakeClock

from lpm.energy import Reading, SimulatedMeter, Tracker, read_run
from lpm.energy.tracker import EARLY_KEEP
from lpm.errors import LpmError


def sim(clock: FakeClock, kind: str = "gpu", watts: float = 100.0, devices: int = 1):
    return SimulatedMeter(kind, watts, devices, clock=clock)


class FlakyMeter:
    """A meter that fails when told to (like a GPU that falls off the bus)."""

    kind = "gpu"
    estimated = False
    name = "flaky gpu"

    def __init__(self, clock: FakeClock, watts: float = 50.0, fail_from_start: bool = False):
        self.clock, self.watts, self.t0 = clock, watts, clock()
        self.failing = fail_from_start

    def read(self) -> Reading:
        if self.failing:
            raise OSError("device vanished")
        return Reading((self.watts * (self.clock() - self.t0),), ("gpu:9 flaky",))


def test_simulated_devices_windows_and_steps() -> None:
    clock = FakeClock()
    meters = [sim(clock, "gpu", 300.0, 4), sim(clock, "cpu", 50.0, 1)]
    with Tracker(meters, interval_s=3600, clock=clock) as t:
        clock.advance(1.0)  # outside any window
        for _ in range(2):
            with t.window("train"):
                for _ in range(4):
                    clock.advance(0.5)
                    t.step()
        with t.window("sample"):
            clock.advance(3.0)
            t.step()
    s = t.summary()
    assert s.duration_s == pytest.approx(8.0)
    assert s.it_energy_j == pytest.approx(8.0 * 1250.0)
    assert s.energy_by_kind_j() == pytest.approx({"gpu": 8 * 1200.0, "cpu": 8 * 50.0})
    train = s.windows["train"]
    assert (train["count"], train["steps"]) == (2, 8)
    assert train["duration_s"] == pytest.approx(4.0)
    assert train["energy_j"] == pytest.approx(4.0 * 1250.0)
    assert train["by_kind_j"] == pytest.approx({"gpu": 4800.0, "cpu": 200.0})
    assert s.windows["sample"]["energy_j"] == pytest.approx(3750.0)
    st = t.step_stats("train")
    assert st.count == 8
    assert st.duration_s_mean == pytest.approx(0.5) and st.duration_s_std == pytest.approx(0.0)
    assert st.power_w_mean == pytest.approx(1250.0)
    assert st.energy_j_mean == pytest.approx(625.0)
    assert s.steps == 9 and s.complete and not s.estimated


def test_warmup_steps_are_left_out_and_can_be_changed_afterwards() -> None:
    clock = FakeClock()
    gpu = FakeGpuSteps(clock)
    with Tracker([gpu], interval_s=3600, clock=clock, warmup_steps=2) as t, t.window("train"):
        for i in range(10):
            gpu.watts = 400.0 if i < 2 else 100.0  # warm-up draws more
            clock.advance(2.0 if i < 2 else 1.0)
            t.sample()
            t.step()
    st = t.step_stats("train")
    assert st.count == 8 and st.warmup_steps == 2
    assert st.duration_s_mean == pytest.approx(1.0)
    assert st.power_w_mean == pytest.approx(100.0) and st.power_w_std == pytest.approx(0.0)
    all_steps = t.step_stats("train", warmup_steps=0)
    assert all_steps.count == 10
    assert all_steps.duration_s_mean == pytest.approx(12.0 / 10)
    assert all_steps.power_w_mean == pytest.approx((400 * 4 + 100 * 8) / 12)  # time-weighted
    assert all_steps.power_w_std > 0
    assert t.step_stats().count == 8  # all steps of the run, same warm-up


class FakeGpuSteps:
    """A GPU whose draw the test sets between steps."""

    kind = "gpu"
    estimated = False
    name = "stepped gpu"

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.watts, self.energy, self.t = clock, 0.0, 0.0, clock()

    def read(self) -> Reading:
        now = self.clock()
        self.energy += self.watts * (now - self.t)
        self.t = now
        return Reading((self.energy,), ("gpu:0 stepped",))


def test_failing_meter_is_estimated_and_never_raises(tmp_path) -> None:
    clock = FakeClock()
    flaky = FlakyMeter(clock, watts=50.0)
    with Tracker([flaky, sim(clock, "cpu", 10.0)], interval_s=3600, clock=clock) as t:
        clock.advance(2.0)
        t.sample()
        flaky.failing = True
        clock.advance(2.0)
        t.sample()
        t.step()
    s = t.summary()
    gpu = next(c for c in s.components if c.kind == "gpu")
    assert gpu.energy_j == pytest.approx(200.0)  # 2 s measured + 2 s at its 50 W mean
    assert gpu.estimated and s.estimated
    assert any("device vanished" in f for f in s.faults)


def test_meter_failing_from_the_start_is_left_out() -> None:
    clock = FakeClock()
    flaky = FlakyMeter(clock, fail_from_start=True)
    with Tracker([flaky, sim(clock, "cpu", 10.0)], interval_s=3600, clock=clock) as t:
        clock.advance(1.0)
    s = t.summary()
    assert [c.kind for c in s.components] == ["cpu"]
    assert s.it_energy_j == pytest.approx(10.0)
    assert any("left out" in f for f in s.faults)


def test_real_sampler_thread_and_decorator() -> None:
    @Tracker.track(meters=[SimulatedMeter("cpu", 20.0, 1)], interval_s=0.01)
    def work(n: int) -> int:
        return sum(i * i for i in range(n))

    assert work(20000) == sum(i * i for i in range(20000))
    s = work.last_summary
    assert s is not None and s.complete
    assert s.components[0].mean_power_w == pytest.approx(20.0, rel=0.05)


def test_epoch_aliases_and_summary_while_running() -> None:
    clock = FakeClock()
    with Tracker([sim(clock, "gpu", 100.0)], interval_s=3600, clock=clock) as t:
        for _ in range(3):
            t.epoch_start()
            clock.advance(1.0)
            t.epoch_end()
        running = t.summary()
        assert not running.complete and running.it_energy_j == pytest.approx(300.0)
    assert t.summary().windows["epoch"]["count"] == 3
    assert t.summary().complete


def test_same_device_names_of_two_meters_stay_distinct() -> None:
    clock = FakeClock()
    with Tracker([sim(clock), sim(clock)], interval_s=3600, clock=clock) as t:
        clock.advance(1.0)
    comps = t.summary().components
    assert len({c.name for c in comps}) == 2 and len({c.device_id for c in comps}) == 2
    assert t.summary().it_energy_j == pytest.approx(200.0)


def test_state_is_bounded_over_many_steps() -> None:
    clock = FakeClock()
    with Tracker([sim(clock)], interval_s=3600, clock=clock) as t, t.window("train"):
        for _ in range(3 * EARLY_KEEP):
            clock.advance(0.01)
            t.step()
            t.sample()
    group = t._acc.groups["train"]
    assert len(group.early_durations) == EARLY_KEEP
    assert len(group.early_power) <= EARLY_KEEP + 1
    assert t.step_stats("train").count == 3 * EARLY_KEEP


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"interval_s": 0}, "interval_s"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"pue": 0.5}, "PUE"),
        ({"region": "Atlantis"}, "Atlantis"),
    ],
)
def test_bad_settings_are_user_errors(kwargs: dict, words: str) -> None:
    with pytest.raises(LpmError, match=words):
        Tracker([SimulatedMeter("cpu", 1.0, 1)], **kwargs)


def test_misuse_is_a_user_error() -> None:
    clock = FakeClock()
    with Tracker([sim(clock)], interval_s=3600, clock=clock) as t:
        with pytest.raises(LpmError, match="no open window"):
            t.end_window("train")
        with pytest.raises(LpmError, match="no steps"):
            t.step_stats("train")
    with pytest.raises(LpmError, match="already started"):
        t.start()


def test_import_does_not_import_torch() -> None:
    code = "import sys, lpm.energy; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_detected_meters_by_default_and_notes_in_the_run(tmp_path) -> None:
    with Tracker(interval_s=0.05, log_dir=tmp_path) as t:
        sum(i * i for i in range(200_000))
        t.note("measured in a test")
    s = t.summary()
    kinds = {c.kind for c in s.components}
    assert {"cpu", "dram"} <= kinds
    assert s.energy_by_kind_j()["cpu"] > 0
    assert "measured in a test" in s.faults
    assert s.context["meters"] and s.context["cpu_model"] is not None


class HangingMeter:
    """A meter whose read blocks while ``hang`` is set (like a stuck driver call)."""

    kind = "gpu"
    estimated = False
    name = "hanging gpu"

    def __init__(self) -> None:
        self.hang = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def read(self) -> Reading:
        if self.hang.is_set():
            self.entered.set()
            self.release.wait(30)
        return Reading((0.0,), ("gpu:0 hanging",))


def test_a_stuck_meter_blocks_neither_steps_nor_window_edges() -> None:
    meter = HangingMeter()
    with Tracker([meter], interval_s=0.01, read_timeout_s=0.2) as t:
        t.start_window("train")
        meter.hang.set()
        assert meter.entered.wait(10)  # the meter's reader thread is now stuck inside read()
        worker = threading.Thread(target=lambda: [t.step() for _ in range(100)])
        worker.start()
        worker.join(5)
        assert not worker.is_alive()
        t.end_window("train")  # does not wait for the stuck read beyond the time limit
        meter.release.set()
    s = t.summary()
    assert s.windows["train"]["steps"] == 100
    assert any("stuck meter" in f for f in s.faults)


class NanMeter:
    kind = "cpu"
    estimated = False
    name = "broken cpu"

    def __init__(self) -> None:
        self.value = 0.0

    def read(self) -> Reading:
        return Reading((self.value,), ("cpu:broken",))


def test_a_meter_given_by_the_caller_stays_open_and_nan_is_ignored(tmp_path) -> None:
    clock = FakeClock()
    closed = []
    meter = sim(clock)
    meter.close = lambda: closed.append(True)  # type: ignore[attr-defined]
    broken = NanMeter()
    with Tracker([meter, broken], interval_s=3600, log_dir=tmp_path, clock=clock) as t:
        clock.advance(1.0)
        broken.value = float("nan")
        t.sample()
    assert closed == []
    s = t.summary()
    assert s.it_energy_j == pytest.approx(100.0)
    assert any("not a number" in f for f in s.faults)
    assert read_run(s.path).complete  # the record stays valid JSON
