"""The paper's 200-vs-1000-step pair, taken from the study's energy–quality sweep.

§3.4 of the paper compares 200 with 1000 inference steps. The pair is two ok points of
one run and batch: the same sampler at both step counts (DDPM first, then the
reference's sampler, then any other), the reference's run and batch first. A sweep with
no such pair (the quick preset sweeps DDIM at 200 steps but DDPM only at 1000) compares
another sampler's 200 steps with the 1000-step point of the reference's sampler, and says
so: every sampler of a model runs the same UNet once per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lpm.report.tradeoff import DEFAULT_TOLERANCE, MetricChange, TradeoffAnalysis
from lpm.results import TradeoffPoint

#: The paper's steps pair (§3.4: 200 instead of 1000 steps).
LOW_STEPS, HIGH_STEPS = 200, 1000
#: Samplers tried for the 200-step side when no sampler has both step counts.
CROSS_ORDER = ("ddim", "pndm", "ddpm")


@dataclass(frozen=True)
class StepsCheck:
    """The 200-vs-1000-step comparison from two points of the sweep.

    Same run and batch (and sampler, unless ``same_sampler`` is False); ``saving`` is 1 −
    CO2e(200) / CO2e(1000) of the synthesis of ``target_samples`` (± from both points'
    spread); ``quality`` the judged metrics at 200 steps next to 1000 steps, with the
    sweep's tolerance; ``choice`` says in words which pair this is and why.
    """

    low: TradeoffPoint
    high: TradeoffPoint
    saving: float
    saving_std: float
    quality: tuple[MetricChange, ...]
    choice: str

    @property
    def same_sampler(self) -> bool:
        return self.low.sampler == self.high.sampler

    @property
    def kept(self) -> bool | None:
        """Every judged metric within tolerance (None: no judged metric on both)."""
        found = [m.within for m in self.quality if m.judged and m.within is not None]
        return all(found) if found else None

    @property
    def lost(self) -> tuple[MetricChange, ...]:
        return tuple(m for m in self.quality if m.judged and m.within is False)

    @property
    def pair_text(self) -> str:
        """'ddpm 1000 vs 200 steps, batch 1' or 'ddpm 1000 vs ddim 200 steps, batch 1'."""
        low = "" if self.same_sampler else f"{self.low.sampler} "
        return (
            f"{self.high.sampler} {HIGH_STEPS} vs {low}{LOW_STEPS} steps, batch "
            f"{self.low.batch_size}"
        )


def _usable(p: TradeoffPoint) -> bool:
    return p.ok and p.synthesis_co2e_kg is not None and math.isfinite(p.synthesis_co2e_kg)


def _ratio_std(a: float, sa: float, b: float, sb: float) -> float:
    """The spread of a / b from the spreads of a and b (independent)."""
    if a <= 0 or b <= 0:
        return 0.0
    return (a / b) * math.hypot(sa / a, sb / b)


def _pairs(
    points: Sequence[TradeoffPoint], ref: TradeoffPoint | None
) -> tuple[list[tuple[TradeoffPoint, TradeoffPoint]], list[str], str]:
    """Candidate (200, 1000) pairs, best first; failed points met; what was looked for."""
    first = ["ddpm"] + ([ref.sampler] if ref and ref.sampler != "ddpm" else [])
    samplers = first + sorted({p.sampler for p in points} - set(first))
    at = {(p.run, p.sampler, p.batch_size, p.steps): p for p in points}
    broken: list[str] = []

    def home(p: TradeoffPoint) -> tuple:
        return (ref is None or p.run != ref.run, ref is None or p.batch_size != ref.batch_size,
                p.batch_size, p.run)  # fmt: skip

    same = []
    for high in points:
        low = at.get((high.run, high.sampler, high.batch_size, LOW_STEPS))
        if high.steps != HIGH_STEPS or low is None:
            continue
        bad = [p for p in (low, high) if not _usable(p)]
        broken += [f"{p.point_id} failed ({p.error})" for p in bad if not p.ok]
        if not bad:
            same.append(((samplers.index(high.sampler), *home(high)), (low, high)))
    cross = []
    for high in points:
        if high.steps != HIGH_STEPS or high.sampler not in first or not _usable(high):
            continue
        for low in points:
            if (low.run, low.batch_size, low.steps) != (high.run, high.batch_size, LOW_STEPS):
                continue
            if low.sampler == high.sampler or not _usable(low):
                continue
            order = CROSS_ORDER.index(low.sampler) if low.sampler in CROSS_ORDER else 9
            cross.append(
                ((first.index(high.sampler), order, low.sampler, *home(high)), (low, high))
            )
    ranked = [pair for _, pair in sorted(same, key=lambda t: t[0])]
    ranked += [pair for _, pair in sorted(cross, key=lambda t: t[0])]
    return ranked, sorted(set(broken)), " or ".join(first)


def steps_check(tr: TradeoffAnalysis) -> tuple[StepsCheck | None, str]:
    """The sweep's 200-vs-1000-step pair, or None and why there is none."""
    ref = tr.reference
    pairs, broken, which = _pairs(tr.points, ref)
    if not pairs:
        why = (
            f"the sweep has no ok {LOW_STEPS}-step point next to a {HIGH_STEPS}-step point of "
            f"{which} of one run and batch"
        )
        return None, why + (f" ({'; '.join(broken)})" if broken else "")
    low, high = pairs[0]
    a, sa = low.synthesis_co2e_kg or 0.0, low.synthesis_co2e_kg_std or 0.0
    b, sb = high.synthesis_co2e_kg or 0.0, high.synthesis_co2e_kg_std or 0.0
    saving = 1.0 - a / b if b > 0 else math.nan
    if low.sampler != high.sampler:
        choice = (
            f"{low.sampler} at {LOW_STEPS} steps against {high.sampler} at {HIGH_STEPS} (the "
            f"sweep has no {LOW_STEPS}-step {high.sampler}; both run the same UNet once per "
            "step)"
        )
    elif high.sampler == "ddpm":
        choice = "ddpm at both step counts (the paper's sampler)"
    else:
        choice = f"{high.sampler} at both step counts (the sweep has no DDPM pair)"
    choice += f", batch {high.batch_size}, run {high.run}"
    tolerance = tr.summary.tolerance if tr.summary else DEFAULT_TOLERANCE
    quality = tuple(
        MetricChange(m, high.quality.get(m), low.quality.get(m), tolerance, True)
        for m in tr.metrics
        if m in high.quality or m in low.quality
    )
    return StepsCheck(low, high, saving, _ratio_std(a, sa, b, sb), quality, choice), ""
