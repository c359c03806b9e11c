"""A fake ``pynvml`` module: the subset of NVML calls lpm uses, driven by a test clock.

Each fake GPU draws ``power_w`` watts; its energy counter (mJ, as NVML reports it) grows by
power × time of the injected clock, so a test advances time without sleeping. Faults can
be switched on per GPU: ``fail`` (every call raises NVMLError), ``reset(now)`` (the
counter restarts from zero) and ``energy_counter=False`` (pre-Volta: only power readings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_UNKNOWN = 999

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: carries the NVML return code in ``value``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML error {self.value}")


@dataclass
class FakeGpu:
    """One physical GPU."""

    uuid: str
    name: str = "NVIDIA A100-SXM4-40GB"
    power_w: float = 300.0
    energy_counter: bool = True
    fail: bool = False
    mig_uuids: tuple[str, ...] = ()
    base_mj: float = 1_234_567.0  # counters count from driver load, not from zero
    t_base: float = 0.0
    calls: int = 0

    def energy_mj(self, now: float) -> float:
        return self.base_mj + self.power_w * (now - self.t_base) * 1000.0

    def set_power(self, now: float, watts: float) -> None:
        """Change the draw from ``now`` on (the counter keeps what it has)."""
        self.base_mj = self.energy_mj(now)
        self.t_base = now
        self.power_w = watts

    def reset(self, now: float) -> None:
        """Driver reload / GPU reset: the counter starts again from zero."""
        self.base_mj = 0.0
        self.t_base = now


@dataclass(frozen=True)
class _Handle:
    index: int


@dataclass(frozen=True)
class _MigHandle:
    parent: int
    uuid: str


@dataclass
class FakeNvml:
    """Pass an instance where lpm takes ``nvml=`` (or put it in sys.modules["pynvml"])."""

    gpus: list[FakeGpu]
    clock: Callable[[], float]
    init_error: int | None = None
    driver: str = "550.54.15"
    names_as_bytes: bool = False
    initialised: int = field(default=0)

    NVMLError = NVMLError
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_GPU_IS_LOST = NVML_ERROR_GPU_IS_LOST

    def __post_init__(self) -> None:
        now = self.clock()
        for g in self.gpus:
            g.t_base = now

    def _gpu(self, handle: _Handle) -> FakeGpu:
        if self.initialised <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        g = self.gpus[handle.index]
        g.calls += 1
        if g.fail:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return g

    def _str(self, s: str) -> str | bytes:
        return s.encode() if self.names_as_bytes else s

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str | bytes:
        return self._str(self.driver)

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _Handle(index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> _Handle | _MigHandle:
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        for i, g in enumerate(self.gpus):
            if g.uuid == text:
                return _Handle(i)
            if text in g.mig_uuids:
                return _MigHandle(i, text)
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, mig: _MigHandle) -> _Handle:
        return _Handle(mig.parent)

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str | bytes:
        return self._str(self.gpus[handle.index].uuid)

    def nvmlDeviceGetName(self, handle: _Handle) -> str | bytes:
        return self._str(self.gpus[handle.index].name)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        g = self._gpu(handle)
        if not g.energy_counter:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return round(g.energy_mj(self.clock()))

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        g = self._gpu(handle)
        return round(g.power_w * 1000.0)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def uuid_of(i: int) -> str:
    """A GPU UUID in NVML's format for test GPU number ``i``."""
    return f"GPU-{i:08x}-1111-2222-3333-44444444{i:04x}"
