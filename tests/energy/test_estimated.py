"""Estimated CPU and DRAM meters and the TDP look-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.fakes.nvml import FakeClock

from lpm.energy import EstimatedCpuMeter, EstimatedDramMeter, cpu_power_model
from lpm.energy.estimated import CpuPowerModel, tree_cpu_seconds
from lpm.energy.tdp import (
    CPU_IDLE_FRACTION,
    DRAM_W_PER_GB,
    FALLBACK_W_PER_CORE,
    lookup_cpu,
    lookup_gpu,
)


def model(w_per_core: float = 10.0, threads: float = 1.0, idle: float = 0.2) -> CpuPowerModel:
    return CpuPowerModel("test", w_per_core, threads, idle, None, None, None, "test")


def test_power_model_busy_cores_plus_idle_share() -> None:
    m = model(10.0, 1.0, 0.2)
    assert m.power_w(0.0, 4) == pytest.approx(8.0)  # 4 idle cores x 10 W x 0.2
    assert m.power_w(1.0, 4) == pytest.approx(10.0 + 6.0)
    assert m.power_w(4.0, 4) == pytest.approx(40.0)
    assert m.power_w(9.0, 4) == pytest.approx(40.0)  # never more than what is available
    assert model(10.0, 2.0).power_w(2.0, 2) == pytest.approx(10.0)  # two threads, one core


def test_estimated_cpu_integrates_cpu_time() -> None:
    clock = FakeClock()
    cpu_s = [0.0]
    meter = EstimatedCpuMeter(
        model=model(10.0), clock=clock, cpu_seconds=lambda: cpu_s[0], available_cpus=2
    )
    clock.advance(2.0)
    cpu_s[0] = 2.0  # one of two CPUs busy for 2 s
    r = meter.read()
    assert r.energy_j == pytest.approx((2.0 * (10.0 + 0.2 * 10.0),))
    assert r.estimated == (True,)
    clock.advance(1.0)
    cpu_s[0] = 1.5  # a child dropped out of the tree for a moment: never negative
    assert meter.read().total_j == pytest.approx(24.0 + 0.2 * 10.0 * 2)  # idle share only


def test_estimated_dram_from_memory_size() -> None:
    clock = FakeClock()
    meter = EstimatedDramMeter(clock=clock, memory_bytes=lambda: 8e9)
    clock.advance(10.0)
    assert meter.read().total_j == pytest.approx(8 * DRAM_W_PER_GB * 10.0)
    assert meter.estimated


def test_process_tree_cpu_time_includes_children() -> None:
    before = tree_cpu_seconds([os.getpid()])
    busy = "import time\nwhile time.process_time() < 0.3: pass"
    subprocess.run([sys.executable, "-c", busy], check=True)
    assert tree_cpu_seconds([os.getpid()]) - before >= 0.25  # clock ticks are 10 ms


def test_unknown_model_uses_green_algorithms_default() -> None:
    m = cpu_power_model("AMD EPYC")
    assert m.w_per_core == FALLBACK_W_PER_CORE == 12.0
    assert "Green Algorithms" in m.source
    assert m.idle_fraction == CPU_IDLE_FRACTION


@pytest.mark.parametrize(
    ("reported", "matched", "w_per_core"),
    [
        ("AMD EPYC 7513 32-Core Processor", "AMD EPYC 7513", 200 / 32),
        ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248", 150 / 20),
        ("AMD EPYC 7543 32-Core Processor", "AMD EPYC 7543", 225 / 32),  # cores from the name
    ],
)
def test_known_models_use_tdp_per_core(reported: str, matched: str, w_per_core: float) -> None:
    m = cpu_power_model(reported)
    assert m.matched_model == matched
    assert m.w_per_core == pytest.approx(w_per_core)


def test_fuzzy_lookup_needs_a_model_number() -> None:
    assert lookup_cpu("AMD EPYC") is None
    assert lookup_cpu("Intel(R) Xeon(R) CPU @ 2.20GHz") is None
    row = lookup_cpu("Intel(R) Core(TM) i7-1068NG7 CPU @ 2.30GHz")
    assert row is not None and row.model == "Intel Core i7-1068NG7"


@pytest.mark.parametrize(
    ("nvml_name", "row"),
    [
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM4 80GB"),
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM"),
        ("NVIDIA GeForce RTX 3090", "NVIDIA RTX 3090"),
        ("Tesla T4", "NVIDIA Tesla T4"),
    ],
)
def test_gpu_names_from_nvml_find_their_row(nvml_name: str, row: str) -> None:
    found = lookup_gpu(nvml_name)
    assert found is not None and found.model == row
