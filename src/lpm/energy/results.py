"""Result values of lpm.energy: per-step statistics, component energies, run summaries."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Self

from lpm.carbon import Footprint
from lpm.provenance import Provenance, describe_parts
from lpm.units import J_PER_KWH  # re-exported: lpm.energy.results.J_PER_KWH keeps working

RUN_STATUSES = ("finished", "interrupted", "failed", "running")
"""A run's status; records hold the first three (``running`` is a live summary)."""


def provenance_of(d: dict) -> Provenance:
    """The provenance a serialised value states: ``provenance``, else the old ``estimated``."""
    value = d.get("provenance")
    return Provenance.parse(value if value is not None else d.get("estimated"))


def _with_provenance(obj: Any) -> dict:
    d = asdict(obj)
    d["provenance"] = obj.provenance.value
    d["estimated"] = obj.provenance.is_estimated
    return d


def _from_dict(cls: type, d: dict) -> Any:
    names = cls.__dataclass_fields__
    kw = {k: v for k, v in d.items() if k in names}
    kw["provenance"] = provenance_of(d)
    return cls(**kw)


class Provenanced:
    """Mixin of frozen dataclasses with a ``provenance`` field.

    Parses ``provenance`` on creation (a string or the old bool reads too) and derives
    the old ``estimated`` flag from it.
    """

    provenance: Provenance

    def __post_init__(self) -> None:
        object.__setattr__(self, "provenance", Provenance.parse(self.provenance))

    @property
    def estimated(self) -> bool:
        """The old flag: True when some of the energy is a model's estimate."""
        return self.provenance.is_estimated


class ProvenanceRecord(Provenanced):
    """:class:`Provenanced` whose fields are all plain: dicts in and out."""

    def to_dict(self) -> dict:
        """JSON-ready form (every field, plain types, and the old ``estimated`` flag)."""
        return _with_provenance(self)

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        """Inverse of :meth:`to_dict`; a dict with only ``estimated`` reads as before."""
        return _from_dict(cls, d)


@dataclass(frozen=True)
class StepStats(ProvenanceRecord):
    """Per-step duration (from step marks) and power (from sampler intervals), mean ± std.

    ``energy_j_mean`` = power mean × duration mean; its std combines both spreads as for a
    product of two independent quantities. ``provenance`` is that of the energy the
    statistics rest on (``estimated`` is the old flag, derived from it).
    """

    count: int
    duration_s_mean: float
    duration_s_std: float
    power_w_mean: float
    power_w_std: float
    energy_j_mean: float
    energy_j_std: float
    provenance: Provenance = Provenance.ESTIMATED
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
        provenance: Provenance | str | None = None,
        window: str | None = None,
        warmup_steps: int = 0,
        power_samples: int = 0,
        estimated: bool | None = None,
    ) -> StepStats:
        """Build from duration and power statistics, deriving energy per step.

        ``estimated`` is the old flag, read only when ``provenance`` is not given.
        """
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
            provenance=Provenance.parse(provenance if provenance is not None else estimated),
            window=window,
            warmup_steps=warmup_steps,
            power_samples=power_samples,
        )


@dataclass(frozen=True)
class ComponentEnergy(ProvenanceRecord):
    """Energy of one device (a GPU, a CPU package, DRAM) over a run."""

    name: str
    kind: str
    energy_j: float
    energy_kwh: float
    mean_power_w: float
    provenance: Provenance = Provenance.ESTIMATED
    device_id: str = ""


@dataclass(frozen=True)
class RunSummary:
    """A run, finished or interrupted: duration, energy per component, CO2e, windows.

    ``status`` is ``"finished"``, ``"interrupted"`` (Ctrl-C, a signal, a killed process:
    totals up to the interruption) or ``"failed"`` (an exception ended the measured block);
    ``"running"`` for :meth:`Tracker.summary` before the run ends. Left empty it follows
    ``complete`` (finished or interrupted); given, it sets ``complete`` (``status ==
    "finished"``). ``provenance`` combines the components' (MIXED when they differ; then
    :attr:`provenance_by_kind` and :meth:`describe_provenance` say which part is which).
    """

    run_id: str
    duration_s: float
    it_energy_kwh: float
    facility_energy_kwh: float
    co2e_kg: float
    components: list[ComponentEnergy]
    windows: dict[str, dict]
    steps: int
    context: dict
    footprint: Footprint
    complete: bool
    started_at: str = ""
    path: str | None = None
    faults: list[str] = field(default_factory=list)
    step_stats: dict[str, dict] = field(default_factory=dict)
    status: str = ""

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "finished" if self.complete else "interrupted")
        elif self.status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {RUN_STATUSES}, not {self.status!r}")
        object.__setattr__(self, "complete", self.status == "finished")

    @property
    def provenance_by_kind(self) -> dict[str, Provenance]:
        """Provenance per kind of component ("gpu", "cpu", "dram"), in component order."""
        parts: dict[str, list[Provenance]] = {}
        for c in self.components:
            parts.setdefault(c.kind, []).append(c.provenance)
        return {k: Provenance.combine(v) for k, v in parts.items()}

    @property
    def provenance(self) -> Provenance:
        """Provenance of the run's energy: that of its components, MIXED when they differ."""
        return Provenance.combine(c.provenance for c in self.components)

    @property
    def estimated(self) -> bool:
        """The old flag: True when some of the energy is a model's estimate."""
        return self.provenance.is_estimated

    def describe_provenance(self) -> str:
        """Which part is which: "all measured", "gpu simulated; cpu, dram estimated".

        A kind whose devices differ (one GPU bridged by an estimate after a fault) is
        named device by device: "gpu:0 A100, cpu measured; gpu:1 A100 estimated".
        """
        parts: dict[str, Provenance] = {}
        for kind, prov in self.provenance_by_kind.items():
            if prov is Provenance.MIXED:
                for c in self.components:
                    if c.kind == kind:
                        parts[c.name] = c.provenance
            else:
                parts[kind] = prov
        return describe_parts(parts)

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
            "provenance": self.provenance.value,
            "provenance_by_kind": {k: v.value for k, v in self.provenance_by_kind.items()},
            "provenance_parts": self.describe_provenance(),
            "estimated": self.estimated,
            "complete": self.complete,
            "status": self.status,
            "faults": list(self.faults),
            "step_stats": self.step_stats,
            "footprint": self.footprint.to_dict(),
            "context": self.context,
            "path": self.path,
        }


@dataclass(frozen=True)
class WindowStats(ProvenanceRecord):
    """Statistics over the closed occurrences of one named window, mean ± std.

    One observation per occurrence (e.g. one per sampled batch): its duration, its IT
    energy (summed over devices) and its steps. ``skip`` occurrences at the start (a
    warm-up) are left out; ``count`` is how many remain.
    """

    name: str
    count: int
    duration_s_mean: float
    duration_s_std: float
    energy_j_mean: float
    energy_j_std: float
    steps_mean: float
    provenance: Provenance = Provenance.ESTIMATED
    skip: int = 0


@dataclass(frozen=True)
class LiveSnapshot(ProvenanceRecord):
    """The run as of the last completed meter reading (never a fresh read).

    ``age_s`` is the time since that reading; ``stale`` is True when it is older than a
    few sampling intervals (a meter is slow or stuck: the numbers lag behind the job).
    ``steps`` counts the steps marked up to that reading.
    """

    duration_s: float
    it_energy_j: float
    steps: int
    provenance: Provenance
    age_s: float
    stale: bool

    @property
    def it_power_w(self) -> float:
        """Mean IT power over the run so far (0.0 before any time passed)."""
        return self.it_energy_j / self.duration_s if self.duration_s > 0 else 0.0
