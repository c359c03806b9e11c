"""MeterBase defaults and the one adapter for meters that only satisfy the old protocol."""

from __future__ import annotations

from lpm.energy import MeterBase, Reading, SimulatedMeter, Tracker
from lpm.energy.reading import MeterAdapter, as_meter
from lpm.provenance import Provenance


class OldStyleMeter:
    """A third-party meter: name, kind, estimated flag and read(), nothing else."""

    name = "old"
    kind = "gpu"
    estimated = False

    def read(self) -> Reading:
        return Reading((1.0,), ("gpu:0 old",))


def test_defaults_on_the_base() -> None:
    class M(MeterBase):
        name, kind, provenance = "m", "gpu", Provenance.MEASURED

    m, other = M(), M()
    assert m.devices == () and m.device_ids == ()
    assert m.notices == [] and m.notices is not other.notices
    m.track_pids([1])  # a no-op
    m.close()
    assert m.describe() == {
        "name": "m",
        "kind": "gpu",
        "provenance": "measured",
        "estimated": False,
    }
    assert not m.estimated


def test_adapter_once() -> None:
    sim = SimulatedMeter()
    assert as_meter(sim) is sim
    old = as_meter(OldStyleMeter())
    assert isinstance(old, MeterAdapter)
    assert old.provenance is Provenance.MEASURED and not old.estimated
    assert old.describe()["name"] == "old" and old.notices == []
    with Tracker([OldStyleMeter()], interval_s=3600) as t:
        t.step()
    assert t.summary().components[0].provenance is Provenance.MEASURED
