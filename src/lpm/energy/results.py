"""Result values of lpm.energy: per-step statistics, component energies, run summaries."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lpm.carbon import Footprint

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class StepStats:
    """Per-step duration (from step marks) and power (from sampler intervals), mean ± std.

    ``energy_j_mean`` = power mean × duration mean; its std combines both spreads as for a
    product of two independent quantities.
    """

    count: int
    duration_s_mean: float
    duration_s_std: float
    power_w_mean: float
    power_w_std: float
    energy_j_mean: float
    energy_j_std: float
    estimated: bool
    window: str | None = None
    warmup_steps: int = 0
    power_samples: int = 0

    @classmethod
    def from_parts(
        cls,
        *,
        count: int,
        duration_s_mean: float,
        duration_s_std: float,
        power_w_mean: float,
        power_w_std: float,
        estimated: bool,
        window: str | None = None,
        warmup_steps: int = 0,
        power_samples: int = 0,
    ) -> StepStats:
        """Build from duration and power statistics, deriving energy per step."""
        e_mean = power_w_mean * duration_s_mean
        e_var = (
            (duration_s_mean * power_w_std) ** 2
            + (power_w_mean * duration_s_std) ** 2
            + (power_w_std * duration_s_std) ** 2
        )
        return cls(
            count=count,
            duration_s_mean=duration_s_mean,
            duration_s_std=duration_s_std,
            power_w_mean=power_w_mean,
            power_w_std=power_w_std,
            energy_j_mean=e_mean,
            energy_j_std=math.sqrt(e_var),
            estimated=estimated,
            window=window,
            warmup_steps=warmup_steps,
            power_samples=power_samples,
        )

    def to_dict(self) -> dict:
        """JSON-ready form (every field, plain types)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StepStats:
        """Inverse of :meth:`to_dict`."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class ComponentEnergy:
    """Energy of one device (a GPU, a CPU package, DRAM) over a run."""

    name: str
    kind: str
    energy_j: float
    energy_kwh: float
    mean_power_w: float
    estimated: bool
    device_id: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form (every field, plain types)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ComponentEnergy:
        """Inverse of :meth:`to_dict`."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class RunSummary:
    """A run, finished or interrupted: duration, energy per component, CO2e, windows."""

    run_id: str
    duration_s: float
    it_energy_kwh: float
    facility_energy_kwh: float
    co2e_kg: float
    components: list[ComponentEnergy]
    windows: dict[str, dict]
    steps: int
    estimated: bool
    context: dict
    footprint: Footprint
    complete: bool
    started_at: str = ""
    path: str | None = None
    faults: list[str] = field(default_factory=list)
    step_stats: dict[str, dict] = field(default_factory=dict)

    @property
    def it_energy_j(self) -> float:
        """IT energy in J (the sum over components)."""
        return self.it_energy_kwh * J_PER_KWH

    def energy_by_kind_j(self) -> dict[str, float]:
        """Energy summed per kind ("cpu", "gpu", "dram")."""
        out: dict[str, float] = {}
        for c in self.components:
            out[c.kind] = out.get(c.kind, 0.0) + c.energy_j
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "it_energy_kwh": self.it_energy_kwh,
            "facility_energy_kwh": self.facility_energy_kwh,
            "co2e_kg": self.co2e_kg,
            "components": [c.to_dict() for c in self.components],
            "windows": self.windows,
            "steps": self.steps,
            "estimated": self.estimated,
            "complete": self.complete,
            "faults": list(self.faults),
            "step_stats": self.step_stats,
            "footprint": self.footprint.to_dict(),
            "context": self.context,
            "path": self.path,
        }
