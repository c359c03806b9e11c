"""A meter with fixed watts per device: for tests, demos and what-if runs."""

from __future__ import annotations

import time
from collections.abc import Callable

from lpm.energy.reading import KINDS, MeterBase, Reading
from lpm.provenance import Provenance


class SimulatedMeter(MeterBase):
    """``devices`` devices of one kind, each drawing ``watts`` all the time.

    ``clock`` (seconds, monotonic) can be replaced to make time pass without sleeping.
    """

    provenance = Provenance.SIMULATED

    def __init__(
        self,
        kind: str = "gpu",
        watts: float = 300.0,
        devices: int = 4,
        name: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if watts < 0:
            raise ValueError("watts must be >= 0")
        if devices < 1:
            raise ValueError("devices must be >= 1")
        self.kind = kind
        self.watts = float(watts)
        self.n_devices = int(devices)
        self.name = name or f"{kind} (simulated, {devices} x {watts:g} W)"
        self._clock = clock
        self._t0 = clock()
        self.devices = tuple(f"{kind}:{i} (simulated)" for i in range(self.n_devices))
        self.notices: list[str] = []

    def read(self) -> Reading:
        """Energy = watts x time since creation, per device."""
        elapsed_s = max(self._clock() - self._t0, 0.0)
        e = self.watts * elapsed_s
        return Reading(
            energy_j=(e,) * self.n_devices,
            devices=self.devices,
            provenance=(Provenance.SIMULATED,) * self.n_devices,
        )

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "simulated",
            "devices": list(self.devices),
            "watts_per_device": self.watts,
        }
