"""NVML GPU meter against a fake pynvml: sums, counter reset, faults, device scope."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.fakes.nvml import NVML_ERROR_LIBRARY_NOT_FOUND, FakeClock, FakeGpu, FakeNvml, uuid_of

from lpm.energy import NvmlMeter, NvmlUnavailable, Tracker, detect, read_run, read_windows
from lpm.energy.nvml import resolve_gpus
from lpm.provenance import Provenance


def make_nvml(n: int = 4, clock: FakeClock | None = None, **gpu_kw: object) -> FakeNvml:
    clock = clock or FakeClock()
    return FakeNvml([FakeGpu(uuid_of(i), **gpu_kw) for i in range(n)], clock)  # type: ignore[arg-type]


def test_four_gpus_are_summed_not_averaged() -> None:
    clock = FakeClock()
    nvml = make_nvml(4, clock, power_w=300.0)
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    with Tracker([meter], interval_s=3600, clock=clock) as t, t.window("train"):
        clock.advance(2.0)
    s = t.summary()
    assert [c.kind for c in s.components] == ["gpu"] * 4
    assert s.it_energy_j == pytest.approx(2400.0)  # 4 x 300 W x 2 s
    assert all(c.energy_j == pytest.approx(600.0) for c in s.components)
    assert s.windows["train"]["energy_j"] == pytest.approx(2400.0)
    assert s.windows["train"]["mean_power_w"] == pytest.approx(1200.0)
    assert not s.estimated


def test_energy_counter_reset_counts_from_zero_after_the_reset() -> None:
    clock = FakeClock()
    nvml = make_nvml(1, clock, power_w=300.0)
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    clock.advance(1.0)
    assert meter.read().total_j == pytest.approx(300.0)
    nvml.gpus[0].reset(clock())
    clock.advance(1.0)
    assert meter.read().total_j == pytest.approx(600.0)
    assert any("reset" in n for n in meter.notices)


def test_nvml_error_mid_run_is_bridged_by_an_estimate_and_recorded(tmp_path) -> None:
    clock = FakeClock()
    nvml = make_nvml(2, clock, power_w=250.0)
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    with Tracker([meter], interval_s=3600, log_dir=tmp_path, clock=clock) as t:
        clock.advance(2.0)
        t.sample()
        nvml.gpus[1].fail = True
        clock.advance(2.0)
        t.sample()  # must not raise into the job
        nvml.gpus[1].fail = False
        t.sample()  # readings are back: the meter re-bases on the counter
        nvml.gpus[1].set_power(clock(), 100.0)
        clock.advance(1.0)
    s = t.summary()
    gpu0, gpu1 = s.components
    assert gpu0.energy_j == pytest.approx(250.0 * 5)
    assert not gpu0.estimated
    # 2 s measured, 2 s estimated at the mean measured so far (250 W), 1 s measured at 100 W
    assert gpu1.energy_j == pytest.approx(250.0 * 2 + 250.0 * 2 + 100.0)
    assert gpu1.estimated and s.estimated
    assert any("NVML read failed" in f for f in s.faults)
    assert s.path is not None
    assert "NVML read failed" in Path(s.path).read_text()  # the fault is in the run record


def test_gpu_without_energy_counter_integrates_power() -> None:
    clock = FakeClock()
    nvml = make_nvml(1, clock, power_w=200.0, energy_counter=False)
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    clock.advance(3.0)
    assert meter.read().total_j == pytest.approx(600.0)
    nvml.gpus[0].set_power(clock(), 400.0)
    clock.advance(1.0)
    # trapezoid between the 200 W and 400 W samples
    assert meter.read().total_j == pytest.approx(600.0 + 300.0)
    assert "power polling" in str(meter.describe())


def test_names_as_bytes_and_driver_are_decoded() -> None:
    clock = FakeClock()
    nvml = make_nvml(1, clock)
    nvml.names_as_bytes = True
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    assert meter.devices == ("gpu:0 NVIDIA A100-SXM4-40GB",)
    assert meter.describe()["driver_version"] == "550.54.15"
    assert meter.device_ids == (f"gpu-uuid:{uuid_of(0)}",)


def test_pynvml_from_sys_modules_is_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setitem(sys.modules, "pynvml", make_nvml(2, clock))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_GPUS", raising=False)
    monkeypatch.delenv("SLURM_STEP_GPUS", raising=False)
    assert len(NvmlMeter(clock=clock).devices) == 2


def test_no_driver_means_no_gpu_meter_and_estimated_cpu(tmp_path) -> None:
    nvml = FakeNvml([], FakeClock(), init_error=NVML_ERROR_LIBRARY_NOT_FOUND)
    with pytest.raises(NvmlUnavailable):
        NvmlMeter(nvml=nvml, env={})
    d = detect(nvml=nvml, powercap_root=tmp_path / "none", env={})
    status = {i.component: i.status for i in d.items}
    assert status == {"gpu": "none", "cpu": "estimated", "dram": "estimated"}
    assert [m.kind for m in d.meters] == ["cpu", "dram"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2,0", [2, 0]),
        (f"{uuid_of(3)},{uuid_of(1)}", [3, 1]),
        ("GPU-00000002", [2]),  # a unique UUID prefix, as CUDA allows
        ("1,7,2", [1]),  # CUDA stops at the first entry that names no device
        ("1,\u00b2,2", [1]),  # "²" is no index (str.isdigit says it is; int() raised)
        ("", []),
    ],
)
def test_cuda_visible_devices_indices_and_uuids(spec: str, expected: list[int]) -> None:
    nvml = make_nvml(4)
    nvml.nvmlInit()
    targets, _ = resolve_gpus(nvml, {"CUDA_VISIBLE_DEVICES": spec})
    assert [t.uuid for t in targets] == [uuid_of(i) for i in expected]
    assert [t.position for t in targets] == list(range(len(expected)))


def test_mig_instances_measure_their_parent_gpu_once() -> None:
    clock = FakeClock()
    gpus = [
        FakeGpu(uuid_of(0)),
        FakeGpu(uuid_of(1), mig_uuids=("MIG-aaaa-1", "MIG-aaaa-2")),
    ]
    nvml = FakeNvml(gpus, clock)
    env = {"CUDA_VISIBLE_DEVICES": "MIG-aaaa-1,MIG-aaaa-2"}
    meter = NvmlMeter(nvml=nvml, env=env, clock=clock)
    assert meter.device_ids == (f"gpu-uuid:{uuid_of(1)}",)
    assert "MIG" in str(meter.describe())
    old_form = {"CUDA_VISIBLE_DEVICES": f"MIG-{uuid_of(0)}/1/0"}
    assert NvmlMeter(nvml=nvml, env=old_form, clock=clock).device_ids == (f"gpu-uuid:{uuid_of(0)}",)


def test_slurm_gpu_lists_scope_the_devices() -> None:
    nvml = make_nvml(4)
    nvml.nvmlInit()
    targets, source = resolve_gpus(nvml, {"SLURM_JOB_GPUS": "1,3"})
    assert [t.uuid for t in targets] == [uuid_of(1), uuid_of(3)]
    assert "SLURM_JOB_GPUS" in source
    step, _ = resolve_gpus(nvml, {"SLURM_STEP_GPUS": "2", "SLURM_JOB_GPUS": "1,2"})
    assert [t.uuid for t in step] == [uuid_of(2)]
    # with device cgroups NVML sees only the job's GPUs, renumbered: take all it sees
    small = make_nvml(2)
    small.nvmlInit()
    cg, _ = resolve_gpus(small, {"SLURM_JOB_GPUS": "5,6"})
    assert [t.uuid for t in cg] == [uuid_of(0), uuid_of(1)]


def test_select_keeps_one_ranks_gpu() -> None:
    clock = FakeClock()
    meter = NvmlMeter(nvml=make_nvml(4, clock), env={}, select=[2], clock=clock)
    assert meter.device_ids == (f"gpu-uuid:{uuid_of(2)}",)


def test_fake_nvml_gpus_are_measured_everywhere(tmp_path) -> None:
    clock = FakeClock()
    meter = NvmlMeter(nvml=make_nvml(2, clock, power_w=200.0), env={}, clock=clock)
    assert meter.provenance is Provenance.MEASURED
    assert meter.read().provenance == (Provenance.MEASURED,) * 2
    assert meter.describe()["provenance"] == "measured"
    with Tracker([meter], interval_s=3600, log_dir=tmp_path, clock=clock) as t:
        for _ in range(3):
            with t.window("train"):
                clock.advance(1.0)
                t.sample()
                t.step()
        assert t.live().provenance is Provenance.MEASURED
    s = t.summary()
    assert s.provenance is Provenance.MEASURED and not s.estimated
    assert all(c.provenance is Provenance.MEASURED for c in s.components)
    assert s.provenance_by_kind == {"gpu": Provenance.MEASURED}
    assert s.describe_provenance() == "all measured"
    assert s.windows["train"]["provenance"] == "measured"
    assert t.step_stats("train").provenance is Provenance.MEASURED
    assert t.window_stats("train").provenance is Provenance.MEASURED
    back = read_run(s.path)
    assert back.provenance is Provenance.MEASURED
    assert [c.provenance for c in back.components] == [Provenance.MEASURED] * 2
    assert all(w["provenance"] == "measured" for w in read_windows(s.path))


def test_detect_with_fake_nvml_and_rapl_measures_every_component(tmp_path) -> None:
    from tests.fakes.powercap import server_tree

    pc = server_tree(tmp_path / "pc", packages=1)
    clock = FakeClock()
    d = detect(nvml=make_nvml(1, clock), powercap_root=pc.root, env={})
    assert {i.component: i.provenance for i in d.items} == {
        "gpu": Provenance.MEASURED,
        "cpu": Provenance.MEASURED,
        "dram": Provenance.MEASURED,
    }
    assert all(m.provenance is Provenance.MEASURED for m in d.meters)
    with Tracker(d.meters, interval_s=3600) as t:
        pc.add_energy("intel-rapl:0", 1_000_000)
        t.sample()
    s = t.summary()
    assert s.provenance is Provenance.MEASURED
    assert set(s.provenance_by_kind) == {"gpu", "cpu", "dram"}


def test_an_nvml_fault_makes_that_gpu_estimated_and_says_so(tmp_path) -> None:
    clock = FakeClock()
    nvml = make_nvml(2, clock, power_w=250.0)
    meter = NvmlMeter(nvml=nvml, env={}, clock=clock)
    with Tracker([meter], interval_s=3600, log_dir=tmp_path, clock=clock) as t:
        clock.advance(1.0)
        t.sample()
        nvml.gpus[1].fail = True
        clock.advance(1.0)
        t.sample()
        nvml.gpus[1].fail = False
        clock.advance(1.0)
    s = t.summary()
    gpu0, gpu1 = s.components
    assert gpu0.provenance is Provenance.MEASURED
    assert gpu1.provenance is Provenance.ESTIMATED
    assert s.provenance is Provenance.MIXED and s.estimated
    assert s.describe_provenance() == f"{gpu0.name} measured; {gpu1.name} estimated"
    back = read_run(s.path)
    assert [c.provenance for c in back.components] == [gpu0.provenance, gpu1.provenance]


def _eight_gpu_node(clock: FakeClock) -> FakeNvml:
    gpus = [FakeGpu(uuid_of(i)) for i in range(8)]
    gpus[5].mig_uuids = ("MIG-5555-a", "MIG-5555-b")
    return FakeNvml(gpus, clock)


@pytest.mark.parametrize(
    "env",
    [
        {"SLURM_JOB_GPUS": "5"},  # sbatch --gres=gpu:1, no device cgroups
        {"SLURM_STEP_GPUS": "5", "SLURM_JOB_GPUS": "2,5"},  # the step's GPU, not the job's
        {"CUDA_VISIBLE_DEVICES": "5", "SLURM_STEP_GPUS": "5"},
        {"CUDA_VISIBLE_DEVICES": uuid_of(5), "SLURM_JOB_GPUS": "5"},
        {"CUDA_VISIBLE_DEVICES": uuid_of(5)[:12]},  # a unique UUID prefix
        {"CUDA_VISIBLE_DEVICES": "MIG-5555-b", "SLURM_JOB_GPUS": "5"},
        {"CUDA_VISIBLE_DEVICES": f"MIG-{uuid_of(5)}/1/0"},  # the old MIG form
    ],
)
def test_a_one_gpu_job_on_an_eight_gpu_node_measures_one_gpu(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CodeCarbon #567: a 1-GPU Slurm job must not be charged the node's 8 GPUs."""
    clock = FakeClock()
    monkeypatch.setitem(sys.modules, "pynvml", _eight_gpu_node(clock))
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "SLURM_LOCALID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "31")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with Tracker(interval_s=3600, log_dir=tmp_path, clock=clock) as t:
        clock.advance(2.0)
        t.sample()
    s = read_run(t.summary().path)
    gpus = [c for c in s.components if c.kind == "gpu"]
    assert [c.device_id for c in gpus] == [f"gpu-uuid:{uuid_of(5)}"]
    assert gpus[0].energy_j == pytest.approx(600.0)  # one GPU x 300 W x 2 s, not eight
    first = next(
        env[v] for v in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS") if v in env
    )
    assert s.context["slurm"]["gpus"] == first.split(",")  # the list the scope came from
