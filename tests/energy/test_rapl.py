"""RAPL powercap meter against fake sysfs trees: zones, duplicates, wrap, permissions."""

from __future__ import annotations

import pytest
from tests.fakes.powercap import FakePowercap, server_tree

from lpm.energy import RaplPermissionError, RaplUnavailable, detect, rapl_meters
from lpm.energy.rapl import find_zones


def test_packages_and_dram_once_without_psys_core_or_mmio_copies(tmp_path) -> None:
    pc = server_tree(tmp_path, packages=2, mmio=True, dram=True)
    zones = find_zones(pc.root)
    assert [z.label for z in zones] == [
        "cpu:package-0",
        "cpu:package-1",
        "dram:package-0",
        "dram:package-1",
    ]
    assert {z.interface for z in zones} == {"msr"}


def test_mmio_only_package_is_used(tmp_path) -> None:
    pc = FakePowercap(tmp_path)
    pc.add_zone("intel-rapl-mmio:0", "package-0", energy_uj=10)
    pc.add_zone("intel-rapl-mmio:0:0", "dram", energy_uj=10)
    zones = find_zones(pc.root)
    assert [(z.label, z.interface) for z in zones] == [
        ("cpu:package-0", "mmio"),
        ("dram:package-0", "mmio"),
    ]


def test_energy_deltas_per_zone_and_summed(tmp_path) -> None:
    pc = server_tree(tmp_path, packages=2)
    cpu, dram = rapl_meters(pc.root)
    assert (cpu.kind, dram.kind) == ("cpu", "dram")
    pc.add_energy("intel-rapl:0", 5_000_000)
    pc.add_energy("intel-rapl:1", 7_000_000)
    pc.add_energy("intel-rapl-mmio:0", 99_000_000)  # the MMIO copy is not counted again
    pc.add_energy("intel-rapl:0:1", 2_000_000)
    r = cpu.read()
    assert r.energy_j == pytest.approx((5.0, 7.0))
    assert r.total_j == pytest.approx(12.0)
    assert dram.read().total_j == pytest.approx(2.0)
    assert not any(r.estimated)


def test_counter_wrap_around_uses_max_energy_range(tmp_path) -> None:
    pc = FakePowercap(tmp_path)
    top = 262_143_328_850
    pc.add_zone("intel-rapl:0", "package-0", energy_uj=top - 1_000_000, max_range_uj=top)
    (meter,) = rapl_meters(pc.root)
    pc.add_energy("intel-rapl:0", 3_000_000)  # 1 J to the top, 2 J after the wrap
    assert int((pc.root / "intel-rapl:0" / "energy_uj").read_text()) == 2_000_000
    assert meter.read().total_j == pytest.approx(3.0)
    pc.add_energy("intel-rapl:0", 4_000_000)
    assert meter.read().total_j == pytest.approx(7.0)


def test_permission_denied_falls_back_to_estimate_with_one_notice(tmp_path) -> None:
    pc = server_tree(tmp_path, packages=1, mmio=False)
    pc.deny("intel-rapl:0")
    pc.deny("intel-rapl:0:1")
    with pytest.raises(RaplPermissionError) as info:
        find_zones(pc.root, reader=pc.reader)
    assert "chmod" in str(info.value) and "udev" in str(info.value)
    d = detect(powercap_root=pc.root, powercap_reader=pc.reader, nvml=_no_nvml(), env={})
    status = {i.component: i.status for i in d.items}
    assert status["cpu"] == "estimated" and status["dram"] == "estimated"
    assert len(d.notices) == 1
    assert "permission denied" in d.notices[0] and "chmod a+r" in d.notices[0]
    assert all(m.estimated for m in d.meters)


def test_readable_rapl_is_measured_by_detect(tmp_path) -> None:
    pc = server_tree(tmp_path, packages=1, dram=False)
    d = detect(powercap_root=pc.root, nvml=_no_nvml(), env={})
    by = {i.component: i.status for i in d.items}
    assert by["cpu"] == "measured"
    assert by["dram"] == "estimated"  # no dram zone on this CPU: estimated instead
    assert [m.kind for m in d.meters] == ["cpu", "dram"]


def test_no_powercap_tree(tmp_path) -> None:
    with pytest.raises(RaplUnavailable):
        find_zones(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RaplUnavailable):
        find_zones(tmp_path / "empty")


def _no_nvml():
    from tests.fakes.nvml import NVML_ERROR_LIBRARY_NOT_FOUND, FakeClock, FakeNvml

    return FakeNvml([], FakeClock(), init_error=NVML_ERROR_LIBRARY_NOT_FOUND)
