"""What is planned: a job's energy (with its ±), duration, power profile and interruptions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lpm.errors import LpmError


def _positive(value: float, what: str, unit: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise LpmError(f"{what} must be a positive number of {unit}, got {value!r}.")
    return value


@dataclass(frozen=True)
class Job:
    """A job to place in time (and space).

    ``energy_kwh`` is IT energy (the planner applies the PUE), ``energy_kwh_std`` its
    uncertainty (lpm's prediction). ``profile``: relative power of equal consecutive parts
    of the duration (empty: constant power). An ``interruptible`` job runs in chunks of
    ``chunk_s`` (its checkpoint interval); each resumption costs ``resume_kwh`` and
    ``resume_s`` at the job's power.
    """

    energy_kwh: float
    duration_s: float
    energy_kwh_std: float = 0.0
    profile: tuple[float, ...] = ()
    interruptible: bool = False
    chunk_s: float = 1800.0
    resume_s: float = 0.0
    resume_kwh: float = 0.0
    label: str = "job"

    def __post_init__(self) -> None:
        _positive(self.energy_kwh, "the job's energy", "kWh")
        _positive(self.duration_s, "the job's duration", "seconds")
        if not math.isfinite(self.energy_kwh_std) or self.energy_kwh_std < 0:
            raise LpmError("the energy's ± must be a non-negative number of kWh.")
        if self.profile and (
            any(not math.isfinite(p) or p < 0 for p in self.profile) or sum(self.profile) <= 0
        ):
            raise LpmError("a power profile needs non-negative parts with a positive sum.")
        _positive(self.chunk_s, "the chunk length", "seconds")
        if self.resume_s < 0 or self.resume_kwh < 0:
            raise LpmError("a resume cost cannot be negative.")
        if self.interruptible and self.resume_s >= self.chunk_s:
            raise LpmError(
                f"resuming takes {self.resume_s:.0f} s but a chunk is only {self.chunk_s:.0f} s; "
                "use longer chunks (--chunk) or a smaller resume time."
            )

    @property
    def power_kw(self) -> float:
        """Mean IT power (kW)."""
        return self.energy_kwh / (self.duration_s / 3600.0)

    def parts(self) -> list[tuple[float, float]]:
        """(offset from start in s, share of the energy) of each profile part, plus the end."""
        weights = list(self.profile) or [1.0]
        total = sum(weights)
        step = self.duration_s / len(weights)
        return [(k * step, w / total) for k, w in enumerate(weights)]

    def chunks(self) -> int:
        """Chunks an interruptible job needs: ⌈duration / chunk⌉."""
        return max(1, math.ceil(self.duration_s / self.chunk_s - 1e-9))
